// Package e2e holds end-to-end tests of pipelines: a `tributary serve` broker
// started as a separate process on 127.0.0.1, pipelines run in-process by
// runner and as `tributary pipeline run` processes killed with SIGKILL, and
// the pipeline, lint and test commands of the binary. The package has no
// code of its own; see the _test.go files.
package e2e
