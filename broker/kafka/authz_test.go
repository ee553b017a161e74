package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Every served API has an authorization step. (The table may name APIs a
// concurrent change has not started serving yet.)
func TestAuthzTableCoversEveryAPI(t *testing.T) {
	steps := authzSteps()
	for _, a := range apis() {
		if steps[a.Key] == nil {
			t.Errorf("%s (key %d) has no authorization step", kmsg.NameForKey(a.Key), a.Key)
		}
	}
}
