package examples

import "github.com/tributary-io/tributary/streams"

// Customer is a row of the customers table, keyed by customer id.
type Customer struct {
	Name    string `json:"name"`
	Country string `json:"country"`
}

// Order is an order event, keyed by customer id.
type Order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
}

// EnrichedOrder is an order with its customer's details.
type EnrichedOrder struct {
	Order
	Customer Customer `json:"customer"`
	// Known is false when the customer was not (yet) in the table.
	Known bool `json:"known"`
}

// CustomersStore is the store of the customers table.
const CustomersStore = "customers"

// OrdersEnriched joins each order (from orders, keyed by customer id) with
// the current row of the customers table (from the compacted customers
// topic, same key and partition count) and writes the enriched order as JSON
// to output. Orders of unknown customers pass with Known=false.
func OrdersEnriched(b *streams.Builder, orders, customers, output string) {
	table := streams.FromTable(b, customers, CustomersStore, streams.String(), streams.JSON[Customer]())
	stream := streams.FromTopic(b, streams.String(), streams.JSON[Order](), orders)
	enriched := streams.LeftJoinStreamTable(stream, table, func(_ string, o Order, c Customer, found bool) EnrichedOrder {
		return EnrichedOrder{Order: o, Customer: c, Known: found}
	})
	enriched.To(output, streams.String(), streams.JSON[EnrichedOrder]())
}
