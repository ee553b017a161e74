// Command file is the file connector plugin: a source that tails log files
// and a sink that appends records to rolling files. `make build` puts it in
// bin/plugins/file; the logic lives in package fileconn.
package main

import (
	"github.com/tributary-io/tributary/connectors/file/fileconn"
	"github.com/tributary-io/tributary/sdk"
)

func main() { sdk.Serve(fileconn.Plugin()) }
