package main

import "testing"

func TestRenewableToEnd(t *testing.T) {
	mit := "Ticket cache: FILE:{dir}/cc\nDefault principal: host/kt.krbtest@R\n\nValid starting     Expires            Service principal\nT+0m  T+1440m  krbtgt/R@R\n\trenew until T+1440m, Flags: RIA\n\tEtype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96 \n"
	our := "Ticket cache: FILE:{dir}/cc\nDefault principal: host/kt.krbtest@R\n\nValid starting     Expires            Service principal\nT+0m  T+1440m  krbtgt/R@R\n\tFlags: IA, Etype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96 \n"
	if got := renewableToEnd(mit); got != our {
		t.Fatalf("%q", got)
	}
	longer := "T+0m  T+1440m  krbtgt/R@R\n\trenew until T+10080m, Flags: RIA\n\tEtype"
	if renewableToEnd(longer) != longer {
		t.Fatal("changed a really renewable ticket")
	}
}
