package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseDeltat parses a duration as MIT's krb5_string_to_deltat does:
// "3600" (seconds), "10h", "1d2h30m", "90s", "1:30" (hours:minutes) and
// "1:30:15".
func parseDeltat(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		units := []time.Duration{time.Hour, time.Minute, time.Second}
		var d time.Duration
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 31)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			d += time.Duration(n) * units[i]
		}
		return d, nil
	}
	var d time.Duration
	num := ""
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			num += string(r)
		case r == ' ':
		default:
			if num == "" {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			n, err := strconv.ParseUint(num, 10, 31)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			var unit time.Duration
			switch r {
			case 'd':
				unit = 24 * time.Hour
			case 'h':
				unit = time.Hour
			case 'm':
				unit = time.Minute
			case 's':
				unit = time.Second
			default:
				return 0, fmt.Errorf("bad duration %q", s)
			}
			d += time.Duration(n) * unit
			num = ""
		}
	}
	if num != "" {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}
