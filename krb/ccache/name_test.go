package ccache

import (
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"
)

func TestResolvePath(t *testing.T) {
	for name, want := range map[string]string{
		"FILE:/tmp/krb5cc_0":  "/tmp/krb5cc_0",
		"/tmp/krb5cc_0":       "/tmp/krb5cc_0",
		"relative/cc":         "relative/cc",
		"FILE:relative":       "relative",
		"FILE:/a:b":           "/a:b", // only the first ':' separates the type
		`C:\Temp\krb5cc`:      `C:\Temp\krb5cc`,
		"FILE:FILE:/x":        "FILE:/x",
		"FILE:/with space/cc": "/with space/cc",
	} {
		got, err := ResolvePath(name)
		noErr(t, err, name)
		eq(t, got, want, name)
	}

	for _, name := range []string{"", "FILE:"} {
		_, err := ResolvePath(name)
		isErr(t, err, ErrNoName, name)
	}

	for name, typ := range map[string]string{
		"KEYRING:persistent:1000": "KEYRING",
		"KCM:1000":                "KCM",
		"MEMORY:x":                "MEMORY",
		"DIR:/run/user/1000/krb5": "DIR",
		"DIR::/run/user/1000/tkt": "DIR",
		"API:":                    "API",
		"MSLSA:":                  "MSLSA",
		"file:/tmp/cc":            "file", // types are case-sensitive, as in MIT
		"/tmp/a:b":                "/tmp/a",
	} {
		_, err := ResolvePath(name)
		isErr(t, err, ErrUnsupportedType, name)
		check(t, err != nil && strings.HasSuffix(err.Error(),
			"Unknown credential cache type "+typ+" (only FILE is supported)"), err)
	}
}

func TestDefaultName(t *testing.T) {
	uid := strconv.Itoa(os.Getuid())

	t.Setenv("KRB5CCNAME", "FILE:/from/env")
	eq(t, DefaultName("FILE:/from/config"), "FILE:/from/env")
	t.Setenv("KRB5CCNAME", "") // set but empty is used as is, like MIT
	eq(t, DefaultName("FILE:/from/config"), "")

	os.Unsetenv("KRB5CCNAME") // t.Setenv restores it afterwards
	eq(t, DefaultName(""), "FILE:/tmp/krb5cc_"+uid)
	eq(t, DefaultName("FILE:/from/config"), "FILE:/from/config")
	eq(t, DefaultName("KEYRING:persistent:%{uid}"), "KEYRING:persistent:"+uid)

	t.Setenv("TMPDIR", "/var/tmp")
	eq(t, DefaultName("FILE:%{TEMP}/krb5cc_%{uid}"), "FILE:/var/tmp/krb5cc_"+uid)

	// A value MIT would reject is returned unexpanded.
	eq(t, DefaultName("FILE:/tmp/%{nope}"), "FILE:/tmp/%{nope}")
}

func TestExpandPathTokens(t *testing.T) {
	uid, euid := strconv.Itoa(os.Getuid()), strconv.Itoa(os.Geteuid())
	t.Setenv("TMPDIR", "/scratch")
	u, err := user.LookupId(euid)
	noErr(t, err)

	for in, want := range map[string]string{
		"":                          "",
		"/plain/path":               "/plain/path",
		"%{uid}":                    uid,
		"/x/%{USERID}/%{euid}":      "/x/" + uid + "/" + euid,
		"%{TEMP}/cc":                "/scratch/cc",
		"%{username}-%{null}x":      u.Username + "-x",
		"%{uid}%{uid}":              uid + uid,
		"100% {uid} %{uid}":         "100% {uid} " + uid,
		"trailing %":                "trailing %",
		"%{uid}}":                   uid + "}",
		"FILE:/tmp/krb5cc_%{uid}_x": "FILE:/tmp/krb5cc_" + uid + "_x",
	} {
		got, err := ExpandPathTokens(in)
		noErr(t, err, in)
		eq(t, got, want, in)
	}

	os.Unsetenv("TMPDIR")
	got, err := ExpandPathTokens("%{TEMP}")
	noErr(t, err)
	eq(t, got, "/tmp")

	for _, in := range []string{"%{uid", "%{}", "%{bogus}", "%{u}", "%{UID}", "%{LIBDIR}/x", "ok %{uid} %{"} {
		_, err := ExpandPathTokens(in)
		check(t, err != nil, in, ": no error")
	}
}
