// Command echoplugin is the echo test plugin as a binary. Tests build it with
// -ldflags "-X main.version=…" to make several versions.
package main

import (
	"github.com/tributary-io/tributary/plugins/internal/echo"
	"github.com/tributary-io/tributary/sdk"
)

var version = "1.0.0"

func main() { sdk.Serve(echo.Plugin(version)) }
