package core

import (
	"fmt"
	"net"
	"strings"
)

// ServeConfig sets `colt serve`: the [serve] table of colt.toml.
type ServeConfig struct {
	// Listen is the address the embedded NATS server listens on; anything but a loopback
	// address needs TLSCert and TLSKey.
	Listen string `toml:"listen"`
	// Port is its port.
	Port int `toml:"port"`
	// TLSCert and TLSKey are the server's certificate and key (PEM files); TLSCA, on clients,
	// the authority that signed the certificate.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	TLSCA   string `toml:"tls_ca"`
	// AckWaitS is how long a worker may hold a job without a sign of life before the job goes
	// to another worker (workers signal every third of it while they work).
	AckWaitS float64 `toml:"ack_wait_s"`
	// MeasureLocally says the server measures candidates itself too, beside its workers.
	MeasureLocally bool `toml:"measure_locally"`
}

// DefaultServeConfig listens on loopback only.
func DefaultServeConfig() ServeConfig {
	return ServeConfig{Listen: "127.0.0.1", Port: 4244, AckWaitS: 30, MeasureLocally: true}
}

// Loopback says the listen address is reachable from this machine only.
func (s ServeConfig) Loopback() bool {
	if s.Listen == "localhost" {
		return true
	}
	ip := net.ParseIP(s.Listen)
	return ip != nil && ip.IsLoopback()
}

// Check returns the [serve] table's problems as one error (nil when there are none).
func (s ServeConfig) Check() error {
	if bad := s.problems(); len(bad) > 0 {
		return fmt.Errorf("config: %s", strings.Join(bad, "; "))
	}
	return nil
}

func (s ServeConfig) problems() []string {
	var bad []string
	if s.Listen == "" {
		bad = append(bad, "serve.listen is empty, want an address such as 127.0.0.1")
	}
	if s.Port < 1 || s.Port > 65535 {
		bad = append(bad, fmt.Sprintf("serve.port is %d, want 1–65535", s.Port))
	}
	if s.Listen != "" && !s.Loopback() && (s.TLSCert == "" || s.TLSKey == "") {
		bad = append(bad, fmt.Sprintf("serve.listen is %s, beyond this machine: set serve.tls_cert and serve.tls_key", s.Listen))
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		bad = append(bad, "serve.tls_cert and serve.tls_key go together")
	}
	if !(s.AckWaitS >= 1) {
		bad = append(bad, fmt.Sprintf("serve.ack_wait_s is %g, want ≥ 1", s.AckWaitS))
	}
	return bad
}
