// Package pipetest is `tributary pipeline test`: a pipeline's processors run
// offline, without a broker, against input records, and what they produce is
// compared with the expected records of every output topic, so pipelines are
// unit-tested in CI like code.
//
// A test file names the manifest file and lists cases:
//
//	pipeline: logs.yaml        # relative to this file
//	name: logs                 # when the manifest file has several pipelines
//	cases:
//	  - name: errors are routed
//	    input:                 # a list, or a .jsonl / .yaml file of records
//	      - value: {level: error, msg: disk full}
//	    expect:                # every topic written to, in order
//	      log-errors:
//	        - value: {level: error, msg: disk full}
//	      log-rest: []
//
// Records are processed by runner.Offline, the same code a running pipeline
// uses for a batch, so dead letters appear under the dead-letter topic with
// their error headers. Expected records are compared on the fields they give:
// a text value exactly, a structured value as JSON. A mismatch is reported
// as a unified diff of the topic's records.
package pipetest
