package krbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// StartKpasswd runs MIT's kadmind for the realm so that clients can change
// passwords (kpasswd, RFC 3244), as a login with an expired password does.
// It returns the kpasswd address ("127.0.0.1:PORT", UDP and TCP) and names
// it as kpasswd_server in ConfigPath and in later WriteClientConfig files.
// Close stops kadmind. Expire a password with Flags("+needchange") or
// Kadmin("modprinc", "-pwexpire", "now", name).
func (r *Realm) StartKpasswd() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kadmind != nil {
		return "", fmt.Errorf("krbtest: kadmind already runs")
	}
	bin, err := findTool("kadmind")
	if err != nil {
		return "", err
	}
	kpPort, releaseKP, err := reservePort()
	if err != nil {
		return "", err
	}
	defer releaseKP()
	admPort, releaseAdm, err := reservePort()
	if err != nil {
		return "", err
	}
	defer releaseAdm()
	addr := fmt.Sprintf("127.0.0.1:%d", kpPort)
	r.cfg.kdcRealm = joinLines(r.cfg.kdcRealm, fmt.Sprintf("kpasswd_listen = %s\nkadmind_listen = 127.0.0.1:%d", addr, admPort))
	r.cfg.clientRealm = joinLines(r.cfg.clientRealm, "kpasswd_server = "+addr)
	if err := r.writeConfigs(); err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "-nofork", "-r", r.Name, "-P", filepath.Join(r.Dir, "kadmind.pid"))
	cmd.Env = r.kdcEnv()
	out, err := os.Create(filepath.Join(r.Dir, "kadmind.out"))
	if err != nil {
		return "", fmt.Errorf("krbtest: %w", err)
	}
	defer out.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = out, out
	p, err := startProcess("kadmind", cmd)
	if err != nil {
		return "", err
	}
	// kadmind logs "starting" once its sockets are up; a TCP connect to the
	// kpasswd port tells the same without parsing its log.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("krbtest: kadmind exited: %v\n%s", p.waitErr, r.Logs())
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			return "", fmt.Errorf("krbtest: kadmind did not listen on %s within 10s", addr)
		}
	}
	r.kadmind = p
	return addr, nil
}
