package busemu

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServeHTTPProtocol(t *testing.T) {
	b := newBus(t, Options{})
	srv := httptest.NewServer(b)
	defer srv.Close()
	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		wantStatus int
		wantType   string
	}{
		{name: "PutEvents", method: "POST", target: putEventsTarget, body: `{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}"}]}`, wantStatus: 200},
		{name: "Time as epoch seconds", method: "POST", target: putEventsTarget, body: `{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}","Time":1.7356896005e9}]}`, wantStatus: 200},
		{name: "GET", method: "GET", target: putEventsTarget, wantStatus: 405, wantType: typeUnknownOperation},
		{name: "no target", method: "POST", body: `{}`, wantStatus: 400, wantType: typeUnknownOperation},
		{name: "another service's target", method: "POST", target: "secretsmanager.GetSecretValue", body: `{}`, wantStatus: 400, wantType: typeUnknownOperation},
		{name: "body not JSON", method: "POST", target: putEventsTarget, body: `{"Entries":`, wantStatus: 400, wantType: typeSerialization},
		{name: "Entries of the wrong type", method: "POST", target: putEventsTarget, body: `{"Entries":"x"}`, wantStatus: 400, wantType: typeSerialization},
		{name: "empty body", method: "POST", target: putEventsTarget, wantStatus: 400, wantType: typeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctxT(t), tt.method, srv.URL+"/", strings.NewReader(tt.body))
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", jsonContentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Content-Type") != jsonContentType || resp.Header.Get("x-amzn-RequestId") == "" {
				t.Fatalf("answer %d %v %s, want %d with JSON 1.1 headers", resp.StatusCode, resp.Header, body, tt.wantStatus)
			}
			if tt.wantType != "" && !bytes.Contains(body, []byte(`"__type":"`+tt.wantType+`"`)) {
				t.Fatalf("body = %s, want __type %s", body, tt.wantType)
			}
		})
	}
	events := b.Events()
	if len(events) != 2 || events[1].Time.Unix() != 1735689600 {
		t.Fatalf("events = %+v, want two, the second at 2025-01-01T00:00:00Z", events)
	}
}

func TestServeHTTPLostAnswer(t *testing.T) {
	b := newBus(t, Options{})
	srv := httptest.NewServer(b)
	defer srv.Close()
	b.FailNext(1, FaultLostAnswer)
	req, _ := http.NewRequestWithContext(ctxT(t), "POST", srv.URL+"/", strings.NewReader(`{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}"}]}`))
	req.Header.Set("X-Amz-Target", putEventsTarget)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got an answer (%d), want the connection closed", resp.StatusCode)
	}
	if n := len(b.Events()); n != 1 {
		t.Fatalf("%d events recorded, want 1: the answer is lost after the commit", n)
	}
}
