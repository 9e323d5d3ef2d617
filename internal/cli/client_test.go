package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestPathsAreEscapedOnce: a name is escaped once on its way to the API,
// whatever it holds, and the endpoint's own path is kept.
func TestPathsAreEscapedOnce(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL + "/stage/")
	c := &client{base: base, http: srv.Client(), timeout: time.Second,
		authorize: func(context.Context, *http.Request, []byte) error { return nil }}
	for name, want := range map[string]string{
		"prod":    "/stage/connections/prod",
		"my conn": "/stage/connections/my%20conn",
		"a/b":     "/stage/connections/a%2Fb",
	} {
		if _, err := c.call(context.Background(), http.MethodGet, connPath(name), nil, nil); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q went as %s, want %s", name, got, want)
		}
	}
}
