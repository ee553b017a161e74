package e2e

// Placeholder until the exactly-once child is written.
const childEnv = "TRIBUTARY_TXN_E2E_CHILD"

func runChild() int { return 1 }
