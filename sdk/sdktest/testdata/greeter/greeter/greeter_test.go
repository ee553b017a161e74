package greeter

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.RunSourceSuite(t, sdktest.Local(Plugin()), sdktest.SourceSuite{
		Setup: func(t *testing.T) sdktest.SourceFixture {
			return sdktest.SourceFixture{Config: map[string]string{"who": "world", "interval": "1ms"}}
		},
		Invalid: []sdktest.InvalidConfig{
			{Name: "bad values", Config: map[string]string{"interval": "0s", "count": "-1"}, Fields: []string{"who", "interval", "count"}},
		},
	})
}

func TestGreetings(t *testing.T) {
	src := sdktest.OpenSource(t, sdktest.Local(Plugin()), map[string]string{"who": "Ada", "count": "3", "interval": "1ms"}, nil)
	defer src.Close()
	recs := sdktest.ReadN(t, src, 3, 0, time.Second)
	if got := string(recs[2].Value); got != "hello, Ada #2" {
		t.Fatalf("third greeting = %q", got)
	}
}
