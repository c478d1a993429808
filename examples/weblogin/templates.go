package main

import (
	"bytes"
	"html/template"
	"net/http"
)

// layout is shared by every page; each page defines "title" and "content".
// No script: forms post back and the server redirects (POST/redirect/GET).
const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{template "title" .}} · gokinit web login</title>
<style>
  body { font-family: system-ui, sans-serif; background: #eef1f5; color: #1d2430; margin: 0; }
  main { max-width: 34rem; margin: 3rem auto; background: #fff; border-radius: 10px;
         box-shadow: 0 2px 12px rgba(0,0,0,.08); padding: 2rem 2.25rem; }
  h1 { font-size: 1.35rem; margin: 0 0 1.25rem; }
  label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
  input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .55rem .65rem;
         font-size: 1rem; border: 1px solid #b8c0cc; border-radius: 6px; }
  button { margin-top: 1.25rem; padding: .55rem 1.2rem; font-size: 1rem; border: 0; border-radius: 6px;
           background: #2857c5; color: #fff; cursor: pointer; }
  button.secondary { background: #e3e7ee; color: #1d2430; }
  fieldset { border: 1px solid #d5dae2; border-radius: 8px; margin: 1rem 0 0; padding: .25rem 1rem 1rem; }
  legend { font-weight: 600; padding: 0 .3rem; }
  .hint { color: #5b6575; font-size: .9rem; margin: .3rem 0 0; }
  .notice { background: #fff6dc; border: 1px solid #ecd58a; border-radius: 6px; padding: .6rem .8rem; }
  .error { background: #fde8e8; border: 1px solid #f0b4b4; border-radius: 6px; padding: .6rem .8rem;
           font-family: ui-monospace, monospace; font-size: .95rem; }
  .ok { color: #17753a; }
  dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .45rem 1rem; margin: 0; }
  dt { font-weight: 600; color: #5b6575; }
  dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
  footer { text-align: center; color: #7a8494; font-size: .8rem; margin-bottom: 2rem; }
</style>
</head>
<body>
<main>
{{template "content" .}}
</main>
<footer>gokinit · Kerberos initial credentials, questions as values</footer>
</body>
</html>`

var pageTemplates = map[string]string{
	"start": `{{define "title"}}Sign in{{end}}
{{define "content"}}
<h1>Sign in with Kerberos</h1>
{{with .Notice}}<p class="notice" id="notice">{{.}}</p>{{end}}
<form method="post" action="/login">
  <label for="user">User name</label>
  <input type="text" id="user" name="user" autocomplete="username" autofocus required>
  {{with .Realm}}<p class="hint">For example <code>alice</code> or <code>alice@{{.}}</code>.</p>{{end}}
  <button type="submit" id="next">Next</button>
</form>
{{end}}`,

	"questions": `{{define "title"}}Sign in{{end}}
{{define "content"}}
<h1>Sign in as {{.Principal}}</h1>
{{range .Problems}}<p class="error">{{.}}</p>{{end}}
{{if .Several}}<p class="hint" id="several">The KDC offers several ways to sign in: fill in the one you have.</p>{{end}}
{{with .Notice}}<p class="notice" id="notice">{{.}}</p>{{end}}
<form method="post" action="/answer" autocomplete="off">
  <input type="hidden" name="round" value="{{.Round}}">
  {{with .NewPassword}}
  <fieldset id="new-password">
    <legend>Your password has expired</legend>
    <p class="notice" id="new-password-banner">{{.Banner}}</p>
    {{with .Rejected}}<p class="error" id="new-password-rejected">{{.}}</p>{{end}}
    <label for="new_password">Enter new password</label>
    <input type="password" id="new_password" name="new_password" autocomplete="new-password" autofocus>
    <label for="new_password_again">Enter it again</label>
    <input type="password" id="new_password_again" name="new_password_again" autocomplete="new-password">
    {{with .TriesLeft}}<p class="hint" id="tries-left">{{.}} {{if eq . 1}}try{{else}}tries{{end}} left</p>{{end}}
  </fieldset>
  {{end}}
  {{if .Password}}
  <label for="password" id="password-label">Password for {{.Principal}}</label>
  <input type="password" id="password" name="password" autocomplete="current-password" autofocus>
  {{end}}
  {{with .OTP}}
  <fieldset id="otp">
    <legend id="otp-legend">One-time password{{with .Service}} for {{.}}{{end}}</legend>
    {{range .Tokens}}
    <div class="token">
      {{if .Several}}<label><input type="radio" name="otp_token" value="{{.Index}}"{{if .First}} checked{{end}}>
        Token {{.Index}}{{with .Vendor}}: {{.}}{{end}}{{with .ID}} ({{.}}){{end}}</label>
      {{else}}{{with .Vendor}}<p class="hint">Token: {{.}}</p>{{end}}{{end}}
      {{with .Challenge}}<p class="hint">Challenge: <code>{{.}}</code></p>{{end}}
      {{if .Next}}<p class="notice">The token is out of sync: enter its <em>next</em> value.</p>{{end}}
      {{if .Value}}
      <label for="otp_value_{{.Index}}">Token value</label>
      <input type="text" id="otp_value_{{.Index}}" name="otp_value_{{.Index}}" autocomplete="one-time-code"
        {{if .Numeric}}inputmode="numeric"{{end}} {{with .MaxLength}}maxlength="{{.}}"{{end}} {{if and .First (not $.Password)}}autofocus{{end}}>
      {{end}}
      {{if .PIN}}
      <label for="otp_pin_{{.Index}}">PIN</label>
      <input type="password" id="otp_pin_{{.Index}}" name="otp_pin_{{.Index}}" autocomplete="off">
      {{end}}
    </div>
    {{end}}
  </fieldset>
  {{end}}
  {{range .PKINIT}}
  <fieldset class="pkinit">
    <legend>Smart card or certificate</legend>
    <p class="hint"><code id="pkinit_id_{{.Index}}">{{.Identity}}</code></p>
    {{if .Locked}}<p class="error">This token is locked.</p>{{end}}
    {{if .FinalTry}}<p class="notice">Last try: a wrong PIN locks the token.</p>
    {{else if .CountLow}}<p class="notice">A wrong PIN was entered before.</p>{{end}}
    <label for="pkinit_pin_{{.Index}}">PIN or pass phrase</label>
    <input type="password" id="pkinit_pin_{{.Index}}" name="pkinit_pin_{{.Index}}" autocomplete="off"
      {{if and (eq .Index 0) (not $.Password) (not $.OTP)}}autofocus{{end}}>
  </fieldset>
  {{end}}
  {{range .Other}}
  <label for="other_{{.Index}}">{{.Name}}</label>
  {{with .Challenge}}<p class="hint"><code>{{.}}</code></p>{{end}}
  <input type="password" id="other_{{.Index}}" name="other_{{.Index}}" autocomplete="off">
  {{end}}
  <button type="submit" id="submit">Sign in</button>
  <button type="submit" class="secondary" id="cancel" formaction="/reset" formnovalidate>Cancel</button>
</form>
{{end}}`,

	"success": `{{define "title"}}Signed in{{end}}
{{define "content"}}
<h1 class="ok">Signed in</h1>
{{with .Warning}}<p class="notice" id="expiry-warning">{{.}}</p>{{end}}
<dl>
  <dt>Client</dt><dd id="principal">{{.Client}}</dd>
  <dt>Ticket for</dt><dd id="server">{{.Server}}</dd>
  <dt>Authenticated</dt><dd>{{.AuthTime}}</dd>
  <dt>Valid from</dt><dd id="start">{{.StartTime}}</dd>
  <dt>Valid until</dt><dd id="end">{{.EndTime}}</dd>
  <dt>Lifetime</dt><dd>{{.Lifetime}}</dd>
  {{with .RenewTill}}<dt>Renewable until</dt><dd>{{.}}</dd>{{end}}
  {{with .Flags}}<dt>Flags</dt><dd>{{range $i, $f := .}}{{if $i}}, {{end}}{{$f}}{{end}}</dd>{{end}}
</dl>
<form method="post" action="/reset"><button type="submit" class="secondary" id="restart">Sign out</button></form>
{{end}}`,

	"failure": `{{define "title"}}Sign-in failed{{end}}
{{define "content"}}
<h1>Sign-in failed{{with .User}} for {{.}}{{end}}</h1>
<p class="error" id="error">{{.Error}}</p>
<form method="post" action="/reset"><button type="submit" id="restart">Start over</button></form>
{{end}}`,
}

var pages = func() map[string]*template.Template {
	base := template.Must(template.New("layout").Parse(layout))
	out := make(map[string]*template.Template)
	for name, text := range pageTemplates {
		out[name] = template.Must(template.Must(base.Clone()).Parse(text))
	}
	return out
}()

// render writes a page, or a 500 when the template fails (a bug).
func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, data); err != nil {
		s.logf("page %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
