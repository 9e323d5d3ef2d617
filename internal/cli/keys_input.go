package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// maxKeysFile bounds a credentials file.
const maxKeysFile = 64 << 10

// keySource is where a command reads a connection's Datadog keys from:
// never the command line, where they would land in shell history and ps.
type keySource struct {
	file      string // a JSON file {"apiKey","applicationKey"}; "-" is stdin
	apiKeyEnv string // the name of the variable holding the API key
	appKeyEnv string // the name of the variable holding the application key
}

func (s *keySource) flags(f *pflag.FlagSet) {
	f.StringVar(&s.file, "credentials-file", "", `a JSON file {"apiKey":"…","applicationKey":"…"}; - reads it from stdin`)
	f.StringVar(&s.apiKeyEnv, "api-key-env", "", "the name of an environment variable that holds the API key")
	f.StringVar(&s.appKeyEnv, "application-key-env", "", "the name of an environment variable that holds the application key")
}

func (s *keySource) given() bool { return s.file != "" || s.apiKeyEnv != "" || s.appKeyEnv != "" }

// datadogKeys are a connection's keys, as the credentials file holds them.
type datadogKeys struct {
	APIKey         string `json:"apiKey"`
	ApplicationKey string `json:"applicationKey"`
}

// readKeys reads the keys from the source given, else prompts for them
// without echo when stdin is a terminal. No error quotes what it read.
func (a *app) readKeys(s keySource) (datadogKeys, error) {
	var k datadogKeys
	switch {
	case s.file != "" && (s.apiKeyEnv != "" || s.appKeyEnv != ""):
		return k, usageErrorf("give either --credentials-file or --api-key-env and --application-key-env, not both")
	case s.file != "":
		return a.readKeysFile(s.file)
	case s.apiKeyEnv != "" || s.appKeyEnv != "":
		if s.apiKeyEnv == "" || s.appKeyEnv == "" {
			return k, usageErrorf("give both --api-key-env and --application-key-env")
		}
		k.APIKey, k.ApplicationKey = strings.TrimSpace(a.getenv(s.apiKeyEnv)), strings.TrimSpace(a.getenv(s.appKeyEnv))
		for name, v := range map[string]string{s.apiKeyEnv: k.APIKey, s.appKeyEnv: k.ApplicationKey} {
			if v == "" {
				return k, usageErrorf("environment variable %s is empty or not set", name)
			}
		}
		return k, nil
	}
	in, ok := a.stdio.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return k, usageErrorf("no keys given: use --credentials-file FILE (- for stdin) or --api-key-env VAR " +
			"--application-key-env VAR; on a terminal ddconn prompts for them")
	}
	var err error
	if k.APIKey, err = a.prompt(in, "Datadog API key: "); err != nil {
		return k, err
	}
	if k.ApplicationKey, err = a.prompt(in, "Datadog application key: "); err != nil {
		return k, err
	}
	return k, nil
}

// prompt reads one line from the terminal without echoing it.
func (a *app) prompt(in *os.File, label string) (string, error) {
	fmt.Fprint(a.stdio.Stderr, label)
	b, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(a.stdio.Stderr)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", strings.TrimSuffix(label, ": "), err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", usageErrorf("%sempty", label)
	}
	return v, nil
}

// readKeysFile reads {"apiKey","applicationKey"} from a file or stdin.
// Decoding errors name the problem, never the content.
func (a *app) readKeysFile(name string) (datadogKeys, error) {
	var k datadogKeys
	var r io.Reader = a.stdio.Stdin
	label := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return k, fmt.Errorf("reading the credentials file: %w", err)
		}
		defer f.Close()
		r, label = f, name
	}
	b, err := io.ReadAll(io.LimitReader(r, maxKeysFile+1))
	if err != nil {
		return k, fmt.Errorf("reading the credentials from %s: %w", label, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return k, usageErrorf("no credentials in %s: it is empty", label)
	}
	if len(b) > maxKeysFile {
		return k, usageErrorf("the credentials in %s are over %d KiB", label, maxKeysFile>>10)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return k, usageErrorf(`the credentials in %s are not JSON {"apiKey":"…","applicationKey":"…"} (syntax error at byte %d)`, label, syntax.Offset)
		}
		// The decoder's message can quote a field name, which could be a
		// pasted key: it is left out.
		return k, usageErrorf(`the credentials in %s are not exactly {"apiKey":"…","applicationKey":"…"} (two strings, no other field)`, label)
	}
	if k.APIKey == "" || k.ApplicationKey == "" {
		return k, usageErrorf(`the credentials in %s need both "apiKey" and "applicationKey"`, label)
	}
	return k, nil
}
