package httpapi_test

import (
	"context"
	"testing"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// TestListSkipsManagedKeySecrets checks that the secrets of managed keys,
// which share the connections' prefix ("<prefix>keys/<connection>/<name>",
// "<prefix>api-keys/<connection>/<name>", package managedsecret), never show
// up as connections, even tagged as ddconn's.
func TestListSkipsManagedKeySecrets(t *testing.T) {
	e := newEnv(t)
	if r := e.do("POST", "/connections", e.createBody("prod", e.rotatorKey)); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	tags := map[string]string{secretkind.TagManagedBy: secretkind.ManagedBy}
	for _, name := range []string{"keys/prod/checkout", "api-keys/prod/agent"} {
		_, err := e.Store.Create(context.Background(), secretstore.CreateInput{
			Name: "ddconn/connections/" + name, Value: `{"url":"x"}`, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
	}
	var page connection.Page
	r := e.do("GET", "/connections", "")
	r.json(t, &page)
	if r.status != 200 || len(page.Connections) != 1 || page.Connections[0].Name != "prod" {
		t.Fatalf("GET /connections = %d %s, want only prod", r.status, r.body)
	}
}
