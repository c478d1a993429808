package krb

// MechanismCalls exposes the engine's count of calls into mechanisms to
// the cost-budget tests.
func MechanismCalls(l *Login) int { return l.mechCalls }
