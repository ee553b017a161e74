// Command postgres is the PostgreSQL connector plugin: a change data
// capture source over logical replication and an upsert sink. `make build`
// puts it in bin/plugins/postgres; the logic lives in package pgconnector.
package main

import (
	"github.com/tributary-io/tributary/connectors/postgres/pgconnector"
	"github.com/tributary-io/tributary/sdk"
)

func main() { sdk.Serve(pgconnector.Plugin()) }
