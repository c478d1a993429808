// Package krb gets Kerberos initial credentials (RFC 4120 §3.1, the AS
// exchange) the way MIT krb5 1.20's krb5_get_init_creds does, with its
// preauthentication mechanisms, responder and prompter.
//
// GetInitialCreds is the one-shot call:
//
//	cfg, _ := krb.LoadConfig()
//	creds, err := krb.GetInitialCreds(ctx, "alice@EXAMPLE.COM",
//		krb.WithConfig(cfg), krb.WithResponder(myResponder), krb.WithPrompter(prompter.NewTerminal()))
//	if errors.Is(err, krb.ErrPreauthFailed) { ... }
//	err = creds.WriteCCache("/tmp/krb5cc_1000")
//
// Login is the same exchange as a step machine without I/O (Step), or
// driven over the KDCs of krb5.conf (Run, Continue). With
// WithDeferredQuestions a login stops at each round that has questions and
// hands them over as values (Questions, Continue), so a web or GUI login can
// answer later without a goroutine waiting.
//
// Mechanisms (package preauth and its sub-packages: encrypted timestamp,
// encrypted challenge, SPAKE, OTP, PKINIT) are built in; third-party ones
// register with preauth.Register. FAST armor (RFC 6113) comes from a TGT:
// WithArmor with ArmorFromCCache or ArmorFromCredentials. Renew renews a
// TGT; an expired password is changed through kpasswd when the login has a
// prompter.
//
// Errors are typed: *KDCError carries the KDC's error, and sentinels such
// as ErrPreauthFailed, ErrClientUnknown, ErrKDCUnreachable and ErrNoAnswer
// work with errors.Is. No error, trace line or log holds a password, key or
// answer.
package krb
