package provisioning

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// raceConnections is a connection service on which a concurrent delivery
// of the same request finishes between the first look and the second.
type raceConnections struct{ looks, creates int }

func (r *raceConnections) CreatedBy(context.Context, string, string) (connection.Connection, bool, error) {
	r.looks++
	return connection.Connection{Name: "prod", SecretARN: "arn:prod"}, r.looks > 1, nil
}

func (r *raceConnections) Create(context.Context, connection.CreateInput) (connection.Connection, error) {
	r.creates++
	return connection.Connection{}, nil
}

// goneStaging is a staging secret that a concurrent delivery deleted.
type goneStaging struct{}

func (goneStaging) Get(context.Context, string, string, string) (secretstore.Version, error) {
	return secretstore.Version{}, secretstore.ErrNotFound
}

func (goneStaging) Delete(context.Context, string, int, bool) (time.Time, error) {
	return time.Time{}, secretstore.ErrNotFound
}

type recorder struct{ types []string }

func (r *recorder) Publish(_ context.Context, detailType string, _ any, _ ...string) (string, error) {
	r.types = append(r.types, detailType)
	return "id", nil
}

type noKeys struct{ managedKeys }

// TestStagingDeletedByAConcurrentDelivery: the staging secret is gone
// because a duplicate delivery created the connection and deleted it; the
// request is done, not failed.
func TestStagingDeletedByAConcurrentDelivery(t *testing.T) {
	conns, pub := &raceConnections{}, &recorder{}
	p := New(conns, noKeys{}, goneStaging{}, Options{Prefix: "ddconn/connections/", Publisher: pub})
	ev := fixture(t, "create_connection.json")
	if err := p.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if conns.creates != 0 || len(pub.types) != 1 || pub.types[0] != ConnectionCreated {
		t.Fatalf("creates %d, published %v; want no create and one %s", conns.creates, pub.types, ConnectionCreated)
	}
}

// TestInvalidEventFieldsAreNotEchoed: an invalid event's id and
// detail-type are unbounded input and stay out of Provisioning Failed.
func TestInvalidEventFieldsAreNotEchoed(t *testing.T) {
	pub := &capture{}
	p := New(nil, nil, nil, Options{Prefix: "ddconn/connections/", Publisher: pub})
	ev := fixture(t, "create_connection.json")
	ev.ID = strings.Repeat("x", 10000)
	ev.DetailType = strings.Repeat("y", 10000)
	if err := p.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	f, ok := pub.detail.(Failed)
	if !ok || f.Reason != ReasonInvalidEvent || f.RequestID != "" || f.Request != "" {
		t.Fatalf("published %+v, want an invalid-event failure without the event's fields", pub.detail)
	}
}

type capture struct{ detail any }

func (c *capture) Publish(_ context.Context, _ string, detail any, _ ...string) (string, error) {
	c.detail = detail
	return "id", nil
}
