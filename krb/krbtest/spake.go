package krbtest

import "strings"

// WithSPAKE makes the KDC offer SPAKE (RFC 9588) in groups, named as in
// krb5.conf ("edwards25519", "P-256", "P-384", "P-521"): MIT's KDC offers it
// only when spake_preauth_groups is set. With a non-empty optimistic group
// the KDC also sends its challenge in that group inside PREAUTH_REQUIRED
// (spake_preauth_kdc_challenge), which saves the client a round trip.
// Clients need their own spake_preauth_groups (WithClientLibdefaults) unless
// edwards25519, MIT's client default, suits them.
func WithSPAKE(groups []string, optimistic string) Option {
	return func(c *config) {
		WithKrb5Conf("spake_preauth_groups = " + strings.Join(groups, " "))(c)
		if optimistic != "" {
			WithKDCConf("spake_preauth_kdc_challenge = "+optimistic, "")(c)
		}
	}
}
