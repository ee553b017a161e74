package platform

import (
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/platform/nodetest"
)

// testWorkerMetrics checks the worker runtime series of a node running a
// connector and a pipeline (the console fixture): connector and task
// states, pipeline records by outcome, and, after the connector's plugin
// process is killed, a plugin restart. It then checks every series the
// deploy/ dashboard and alert rules use is exposed by this node (none only
// declared).
func testWorkerMetrics(t *testing.T, f *consoleFixture) {
	running := map[string]string{"connector": fixConnector, "state": "running"}
	waitMetric(t, f.node, "tributary_connector_state", running, "1", func(v float64) bool { return v == 1 })
	waitMetric(t, f.node, "tributary_connector_task_state", map[string]string{"connector": fixConnector, "task": "0", "state": "running"},
		"1", func(v float64) bool { return v == 1 })
	// The pipeline copies every message of orders: fixMessages in and out.
	for _, outcome := range []string{"in", "out"} {
		waitMetric(t, f.node, "tributary_pipeline_records_total", map[string]string{"pipeline": fixPipeline, "outcome": outcome},
			">= "+strconv.Itoa(fixMessages), func(v float64) bool { return v >= fixMessages })
	}

	pids := nodetest.PIDsOf(filepath.Join(f.pluginDir, "file"))
	if len(pids) == 0 {
		t.Fatal("no file plugin process is running for the connector")
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill plugin %d: %v", pid, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, ok := scrape(t, f.node).value("tributary_plugin_restarts_total", map[string]string{"plugin": "file"})
		if ok && v >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tributary_plugin_restarts_total{plugin=file} = %v (present %v) 30s after the plugin was killed, want >= 1", v, ok)
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		if v, _ := scrape(t, f.node).value("tributary_connector_state", running); v == 1 {
			break
		}
		if time.Now().After(deadline) {
			var st any
			getJSON(t, f.base+"/connectors/"+fixConnector+"/status", &st)
			t.Fatalf("the connector is not running 60s after its plugin was killed: status %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Request errors have series only once one happened.
	requestOutOfRange(t, f.kafka, fixTopic)
	fams := scrape(t, f.node)
	// The fixture's fragile topic (min.insync.replicas above its replicas)
	// is the one partition under min ISR.
	if v, _ := fams.value("tributary_partitions_under_min_isr", nil); v != 1 {
		t.Errorf("tributary_partitions_under_min_isr = %v, want 1 (topic %s)", v, fixFragile)
	}
	// The worker runtime's series too carry only bounded labels.
	checkLabels(t, fams, map[string]bool{fixTopic: true, fixOutTopic: true, fixFragile: true,
		"__consumer_offsets": true, "__transaction_state": true,
		"__tributary_configs": true, "__tributary_status": true, "__tributary_offsets": true})
	exposed := exposedNames(fams)
	for name, where := range usedSeries(t) {
		if !exposed[name] {
			t.Errorf("%s (used by %s) is not exposed by a node running a connector and a pipeline", name, where)
		}
	}
}
