//go:build !linux

package krbtest

import (
	"errors"
	"os/exec"
)

// ResolvConfCommand needs Linux mount namespaces.
func (s *DNSServer) ResolvConfCommand(cmd *exec.Cmd) (*exec.Cmd, error) {
	return nil, errors.New("krbtest: ResolvConfCommand needs Linux")
}
