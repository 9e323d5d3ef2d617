package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/httpapi"
)

// hostileURLs must all be refused before any network call.
var hostileURLs = []string{
	"http://api.datadoghq.com",
	"https://api.datadoghq.com:443",
	"https://api.datadoghq.com:8443",
	"https://api.us5.datadoghq.com:0",
	"https://api.datadoghq.com:",
	"https://user:pass@api.datadoghq.com",
	"https://user@api.datadoghq.com",
	"https://api.datadoghq.com@evil.example",
	"https://api.datadoghq.com/api/v1/validate",
	"https://api.datadoghq.com/%2e%2e/",
	"https://api.datadoghq.com?x=1",
	"https://api.datadoghq.com#frag",
	"https://127.0.0.1",
	"https://10.0.0.1",
	"https://169.254.169.254/latest/meta-data/",
	"https://[::1]",
	"https://[::ffff:127.0.0.1]",
	"https://0x7f000001",
	"https://2130706433",
	"https://localhost",
	"localhost:4580",
	"http://127.0.0.1:4580",
	"https://api.datadoghq.com.",
	"https://api.datadoghq.com.evil.example",
	"https://datadoghq.com.evil.example",
	"https://app.datadoghq.com.evil.example",
	"https://evil.example/api.datadoghq.com",
	"https://api-datadoghq.com",
	"https://api.datadoghq.co",
	"https://api.datad0ghq.com",
	"https://api.evil.datadoghq.com",
	"https://us6.datadoghq.com",
	"https://api.datadoghq.eu.evil",
	"https://аpi.datadoghq.com", // Cyrillic а
	"https://xn--pi-7ld.datadoghq.com",
	"ftp://api.datadoghq.com",
	"wss://api.datadoghq.com",
	"gopher://api.datadoghq.com",
	"file:///etc/passwd",
	"javascript:alert(1)",
	"//api.datadoghq.com",
	`https://api.datadoghq.com\@evil.example`,
	"https://api.datadoghq.com%2F@evil.example",
	"https://api.datadoghq.com\t.evil.example",
	"https://api.data doghq.com",
	"https://api.datadoghq.com\u0000.evil.example",
}

func TestSSRFHostileURLsAreRefusedWithoutOutboundCalls(t *testing.T) {
	if len(hostileURLs) < 30 {
		t.Fatalf("only %d hostile URLs", len(hostileURLs))
	}
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("existing", e.rotatorKey)), http.StatusCreated)
	before := e.Simulator.APIRequests()
	for i, raw := range hostileURLs {
		creds, _ := json.Marshal(map[string]string{"url": raw, "apiKey": e.apiKey, "applicationKey": e.rotatorKey})
		requests := []struct{ method, path, body string }{
			{"POST", "/connections", fmt.Sprintf(`{"name":"ssrf-%d","credentials":%s}`, i, creds)},
			{"POST", "/connections/validate", fmt.Sprintf(`{"credentials":%s}`, creds)},
			{"PATCH", "/connections/existing", fmt.Sprintf(`{"credentials":%s}`, creds)},
		}
		for _, rq := range requests {
			t.Run(fmt.Sprintf("%s %s %q", rq.method, rq.path, raw), func(t *testing.T) {
				r := e.do(rq.method, rq.path, rq.body)
				mustStatus(t, r, http.StatusBadRequest)
				checkEnvelope(t, r, httpapi.CodeInvalidRequest, "credentials.url")
			})
		}
	}
	if n := e.Simulator.APIRequests() - before; n != 0 {
		t.Fatalf("the Datadog simulator received %d requests; hostile URLs must be refused before any call", n)
	}
	r := e.do("GET", "/connections", "")
	if strings.Contains(string(r.body), "ssrf-") {
		t.Fatal("a connection with a hostile URL was stored")
	}
}

// TestNoKeyMaterialInLogsOrResponses runs a full cycle, including failures,
// and searches every response (headers and body) and every log line for
// the keys involved.
func TestNoKeyMaterialInLogsOrResponses(t *testing.T) {
	var stdlog bytes.Buffer
	log.SetOutput(&stdlog) // anything a library prints through package log
	t.Cleanup(func() { log.SetOutput(nil) })
	e := newEnv(t)
	wrongApp := strings.Repeat("7", 40)
	wrongAPI := strings.Repeat("e", 32)
	creds := func(apiKey, appKey string) string {
		return `{"url":"us5.datadoghq.com","apiKey":"` + apiKey + `","applicationKey":"` + appKey + `"}`
	}
	steps := []struct{ method, path, body string }{
		{"POST", "/connections", e.createBody("leak", e.rotatorKey)},
		{"POST", "/connections", e.createBody("leak", e.rotatorKey)}, // 409
		{"POST", "/connections", createBody("leak2", "us5.datadoghq.com", wrongAPI, e.rotatorKey)},
		{"POST", "/connections", createBody("leak2", "us5.datadoghq.com", e.apiKey, wrongApp)},
		{"POST", "/connections", createBody("leak2", "https://"+e.apiKey+"@api.datadoghq.com", e.apiKey, e.adminKey)},
		{"POST", "/connections", `{"name":"leak3","credentials":{"url":"us5.datadoghq.com","apiKey":"` + e.apiKey + `x","applicationKey":"` + e.adminKey + `!"}}`},
		{"POST", "/connections", `{"name":"leak3","credentials":{"url":"us5.datadoghq.com","apiKey":` + `["` + e.apiKey + `"]}}`},
		{"GET", "/connections/leak", ""},
		{"GET", "/connections", ""},
		{"POST", "/connections/validate", `{"credentials":` + creds(e.apiKey, e.adminKey) + `}`},
		{"POST", "/connections/validate", `{"credentials":` + creds(e.apiKey, wrongApp) + `}`},
		{"POST", "/connections/leak/validate", ""},
		{"GET", "/connections/leak/service-accounts", ""},
		{"PATCH", "/connections/leak", `{"description":"x","credentials":` + creds(e.apiKey, e.adminKey) + `}`},
		{"PATCH", "/connections/leak", `{"credentials":` + creds(e.apiKey, wrongApp) + `}`},
		{"GET", "/connections/leak", ""},
		{"DELETE", "/connections/leak", ""},
		{"DELETE", "/connections/leak?force=true", ""},
	}
	var responses bytes.Buffer
	for _, s := range steps {
		r := e.do(s.method, s.path, s.body)
		if r.status >= 500 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, r.status, r.body)
		}
		fmt.Fprintf(&responses, "%d %v %s\n", r.status, r.header, r.body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "connection created") || !strings.Contains(logs, "connection deleted") {
		t.Fatalf("the cycle did not run as expected; logs:\n%s", logs)
	}
	outputs := map[string]string{"responses": responses.String(), "logs": logs, "package log": stdlog.String()}
	for where, out := range outputs {
		if !testkit.AssertNoKeyMaterial(t, out, append(e.secrets(), wrongApp, wrongAPI)...) {
			t.Errorf("the key material is in the %s", where)
		}
	}
}
