package krb_test

import (
	"context"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/prompter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptedPrompter answers prompts from a list and records them.
type scriptedPrompter struct {
	answers []string
	banners []string
	prompts []prompter.Prompt
}

func (p *scriptedPrompter) Prompt(_ context.Context, _, banner string, ps []prompter.Prompt) ([]string, error) {
	p.banners = append(p.banners, banner)
	p.prompts = append(p.prompts, ps...)
	out := p.answers[:len(ps)]
	p.answers = p.answers[len(ps):]
	return out, nil
}

// TestExpiredPasswordIsChanged: the KDC says the password has expired; as
// MIT's kinit does, the login asks for a new one twice, changes it through
// kadmind's kpasswd service and logs in with it.
func TestExpiredPasswordIsChanged(t *testing.T) {
	realm := krbtest.NewRealm(t)
	_, err := realm.StartKpasswd()
	require.NoError(t, err)
	require.NoError(t, realm.AddPrincipal("eve", "old-pw", krbtest.RequiresPreauth(), krbtest.Flags("+needchange")))
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)

	p := &scriptedPrompter{answers: []string{"old-pw", "new-1", "new-2", "new-pw", "new-pw"}}
	creds, err := krb.GetInitialCreds(ctx(t), "eve", krb.WithConfig(cfg), krb.WithPrompter(p))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("eve"), creds.Client.String())
	assert.Equal(t, "krbtgt/"+realm.Name+"@"+realm.Name, creds.Server.String())
	require.Len(t, p.prompts, 5)
	assert.Equal(t, "Password for "+realm.Principal("eve"), p.prompts[0].Text)
	assert.Equal(t, "Enter new password", p.prompts[1].Text)
	assert.Equal(t, prompter.TypeNewPassword, p.prompts[1].Type)
	assert.Equal(t, "Enter it again", p.prompts[2].Text)
	assert.Equal(t, prompter.TypeNewPasswordAgain, p.prompts[2].Type)
	assert.Equal(t, []string{"", "Password expired.  You must change it now.", "Password mismatch.  Please try again."}, p.banners)

	// The new password is the one that works now.
	_, err = krb.GetInitialCreds(ctx(t), "eve", krb.WithConfig(cfg), krb.WithPassword("new-pw"))
	require.NoError(t, err)
	_, err = krb.GetInitialCreds(ctx(t), "eve", krb.WithConfig(cfg), krb.WithPassword("old-pw"))
	require.ErrorIs(t, err, krb.ErrPreauthFailed)

	// Without a prompter nobody can choose a new password: the KDC's error.
	require.NoError(t, realm.AddPrincipal("fay", "fay-pw", krbtest.RequiresPreauth(), krbtest.Flags("+needchange")))
	_, err = krb.GetInitialCreds(ctx(t), "fay", krb.WithConfig(cfg), krb.WithPassword("fay-pw"))
	require.ErrorIs(t, err, krb.ErrKeyExpired)
	assert.Equal(t, "Password has expired while getting initial credentials", err.Error())
}
