package krb

import (
	"encoding/json"
	"strconv"

	"github.com/gokinit/gokinit/krb/ccache"
)

// paConfigDataKey is MIT's KRB5_CC_CONF_PA_CONFIG_DATA: a JSON object of
// string values that mechanisms stored with set_cc_config.
const paConfigDataKey = "pa_config_data"

// WithInputCCache reads what an earlier login stored in cc for this
// login's server principal (MIT's krb5_get_init_creds_opt_set_in_ccache,
// kinit -I): the preauthentication type it used ("pa_type"), to which this
// login's real mechanisms are then restricted, as MIT's
// read_allowed_preauth_type, and the mechanisms' stored values
// ("pa_config_data", read with preauth.Callbacks.GetCCConfig).
func WithInputCCache(cc *ccache.Cache) Option { return func(o *options) { o.inCCache = cc } }

// readInputCCache applies WithInputCCache.
func (l *Login) readInputCCache() {
	cc := l.o.inCCache
	if cc == nil {
		return
	}
	server := ccPrincipal(l.server)
	if v, ok := cc.Config(paTypeConfigKey, &server); ok {
		if n, err := strconv.ParseInt(string(v), 10, 32); err == nil && n > 0 {
			l.inputPAType = int32(n)
			l.trace("Preauthentication restricted to type %d by the input credential cache", n)
		}
	}
	if v, ok := cc.Config(paConfigDataKey, &server); ok {
		l.ccConfigIn = decodePAConfigData(v)
	}
}

// decodePAConfigData keeps the string values of MIT's JSON object, as
// MIT's get_cc_config returns only strings; anything else is ignored.
func decodePAConfigData(b []byte) map[string]string {
	var raw map[string]any
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func encodePAConfigData(m map[string]string) []byte {
	b, _ := json.Marshal(m) // strings only: cannot fail
	return b
}
