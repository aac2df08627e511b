package remote

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnectOptions say how to reach a colt server: the NATS URL and the credentials it wants.
type ConnectOptions struct {
	// URL is the NATS server (the one `colt serve` embeds, or a deployment's).
	URL string
	// Token is the embedded server's token (WORK_DIR/server.token).
	Token string
	// CredsFile is a NATS credentials file, for an existing deployment.
	CredsFile string
	// CAFile is the certificate authority of a server with TLS (a tls:// URL).
	CAFile string
	// Name names the client in the NATS server's monitoring.
	Name string
	// Timeout bounds the connection attempt (0: 5 s).
	Timeout time.Duration
}

// Connect opens a NATS connection to a colt server. Its errors say what went wrong in the
// terms of colt: no server there, a refused token, a TLS problem.
func Connect(opt ConnectOptions) (*nats.Conn, error) {
	if opt.URL == "" {
		return nil, errors.New("no server URL")
	}
	if opt.Timeout == 0 {
		opt.Timeout = 5 * time.Second
	}
	opts := []nats.Option{nats.Name(opt.Name), nats.Timeout(opt.Timeout), nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond), nats.NoCallbacksAfterClientClose()}
	if opt.Token != "" {
		opts = append(opts, nats.Token(opt.Token))
	}
	if opt.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(opt.CredsFile))
	}
	if opt.CAFile != "" {
		pem, err := os.ReadFile(opt.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS certificate authority %s: no PEM certificate in it", opt.CAFile)
		}
		opts = append(opts, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	nc, err := nats.Connect(opt.URL, opts...)
	if err != nil {
		return nil, connectError(opt.URL, err)
	}
	return nc, nil
}

// ErrNoServer is wrapped by the errors that say no colt server could be reached.
var ErrNoServer = errors.New("no colt server")

// connectError phrases a failed connection.
func connectError(url string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(msg), "authorization"):
		return fmt.Errorf("the colt server at %s refused the credentials: use the token in its work dir's server.token (--token-file), or the deployment's credentials", url)
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("%w at %s (start one with 'colt serve', or 'colt tune --detach' starts one)", ErrNoServer, url)
	case strings.Contains(msg, "tls") || strings.Contains(msg, "x509") || strings.Contains(msg, "certificate"):
		return fmt.Errorf("TLS with the colt server at %s: %v (give its certificate authority with serve.tls_ca)", url, err)
	}
	return fmt.Errorf("connect to the colt server at %s: %w", url, err)
}

// request sends req on subject and decodes the reply into reply; a refusal (the reply's Error)
// is an error.
func request(nc *nats.Conn, subject string, req, reply versioned, timeout time.Duration) error {
	msg, err := encode(subject, req)
	if err != nil {
		return err
	}
	resp, err := nc.RequestMsg(msg, timeout)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("%w answers on this NATS (is 'colt serve' running?)", ErrNoServer)
	case errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("the colt server did not answer within %s", timeout)
	case err != nil:
		return fmt.Errorf("request %s: %w", subject, err)
	}
	if err := decode(resp, reply); err != nil {
		return err
	}
	if e := reply.header().Error; e != "" {
		return errors.New(e)
	}
	return nil
}

// respond answers a request; failures to answer are the requester's timeout.
func respond(req *nats.Msg, reply versioned) {
	if req.Reply == "" {
		return
	}
	msg, err := encode(req.Reply, reply)
	if err != nil {
		msg, _ = encode(req.Reply, &Message{Error: err.Error()})
	}
	_ = req.RespondMsg(msg)
}

// refuse answers a request with an error.
func refuse(req *nats.Msg, format string, args ...any) {
	respond(req, &Message{Error: fmt.Sprintf(format, args...)})
}
