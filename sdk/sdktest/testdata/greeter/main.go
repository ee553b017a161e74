// Command greeter is the greeter plugin binary.
package main

import (
	"github.com/tributary-io/tributary/sdk"
	"github.com/tributary-io/tributary/sdk/sdktest/testdata/greeter/greeter"
)

func main() { sdk.Serve(greeter.Plugin()) }
