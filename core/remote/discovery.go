package remote

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files a server keeps in its work dir, so clients on the machine find it.
const (
	// ServerFile describes the running server (ServerInfo as JSON).
	ServerFile = "server.json"
	// TokenFile holds the token clients present (mode 0600).
	TokenFile = "server.token"
	// RunsDir holds one JSON file per run: what was asked and how it stands.
	RunsDir = "runs"
	// ServerLog is where a server started in the background by `colt tune --detach` writes.
	ServerLog = "serve.log"
)

// ServerInfo is what ServerFile says about the server.
type ServerInfo struct {
	URL      string    `json:"url"`
	PID      int       `json:"pid"`
	Started  time.Time `json:"started"`
	Protocol int       `json:"protocol"`
	// External says the server uses an existing NATS deployment: clients need its
	// credentials, not the token.
	External bool `json:"external,omitempty"`
	// TLS says clients must connect with TLS.
	TLS bool `json:"tls,omitempty"`
}

// ReadServerInfo reads a work dir's ServerFile. A missing file is an error saying no server
// runs for that work dir.
func ReadServerInfo(workDir string) (ServerInfo, error) {
	var info ServerInfo
	data, err := os.ReadFile(filepath.Join(workDir, ServerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return info, fmt.Errorf("%w runs for work dir %s (start one with 'colt serve', or 'colt tune --detach' starts one)", ErrNoServer, workDir)
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil || info.URL == "" {
		return info, fmt.Errorf("%s is not a colt server description (remove it and start the server again)", filepath.Join(workDir, ServerFile))
	}
	return info, nil
}

// ReadToken reads a token file. It must be readable by its owner only: a secret in a file
// others can read is refused.
func ReadToken(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s can be read by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return tok, nil
}

// newToken is a fresh random token (256 bits, hex).
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeToken writes a token file readable by its owner only.
func writeToken(path, tok string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeJSON writes v to path through a temporary file and a rename.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
