package e2e

// childEnv names the consumer process mode of the test binary (see TestSIGKILL).
const childEnv = "TRIBUTARY_GROUP_E2E_CHILD"

func runChild() int { return 2 }
