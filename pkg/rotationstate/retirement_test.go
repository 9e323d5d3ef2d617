package rotationstate

import (
	"reflect"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func TestRetirementTagsRoundTrip(t *testing.T) {
	due := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	user := Owner{ID: "33333333-3333-4333-8333-333333333333"}
	sa := Owner{ID: "44444444-4444-4444-8444-444444444444", ServiceAccount: true}
	in := []Retirement{
		{KeyID: ""},
		{KeyID: "11111111-1111-4111-8111-111111111111", Due: due},
		{KeyID: "22222222-2222-4222-8222-222222222222"},
		{KeyID: "55555555-5555-4555-8555-555555555555", Due: due, Owner: user},
		{KeyID: "66666666-6666-4666-8666-666666666666", Owner: sa},
	}
	tags := map[string]string{"ddconn:site": "US1", secretkind.TagRetirePrefix: "ignored: no id"}
	for _, r := range in {
		k, v := r.Tag()
		if len(k) > 127 || len(v) > secretkind.MaxTagValue || secretkind.TagValue(v) != v {
			t.Fatalf("tag %q=%q is not a valid Secrets Manager tag", k, v)
		}
		tags[k] = v
	}
	got := Retirements(tags)
	want := []Retirement{in[1], in[2], in[3], in[4], in[0]} // sorted by tag key; "unidentified" sorts last
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Retirements = %+v, want %+v", got, want)
	}
}

// TestRetirementTagValues pins the value forms: those written before owners
// were recorded still read (with the zero Owner, the current owner), and an
// owner part that cannot be read never becomes the zero Owner.
func TestRetirementTagValues(t *testing.T) {
	due := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        Retirement
	}{
		{"next-rotation without owner", "next-rotation", Retirement{KeyID: "k"}},
		{"due date without owner", "2026-03-02T10:00:00Z", Retirement{KeyID: "k", Due: due}},
		{"user owner", "2026-03-02T10:00:00Z user:u1", Retirement{KeyID: "k", Due: due, Owner: Owner{ID: "u1"}}},
		{"service-account owner", "next-rotation service-account:sa1", Retirement{KeyID: "k", Owner: Owner{ID: "sa1", ServiceAccount: true}}},
		{"unknown owner form", "next-rotation someone", Retirement{KeyID: "k", Owner: Owner{ID: "someone"}}},
		{"prefix without id", "next-rotation service-account:", Retirement{KeyID: "k", Owner: Owner{ID: "service-account:"}}},
		{"unreadable due date keeps the owner", "soon user:u1", Retirement{KeyID: "k", Due: time.Unix(0, 0).UTC(), Owner: Owner{ID: "u1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Retirements(map[string]string{secretkind.TagRetirePrefix + "k": tt.value})
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("Retirements(%q) = %+v, want %+v", tt.value, got, tt.want)
			}
		})
	}
}

func TestOwnerOf(t *testing.T) {
	d := secretkind.Document{OwnerID: "sa1", OwnerIsServiceAccount: true}
	if got := OwnerOf(d); got != (Owner{ID: "sa1", ServiceAccount: true}) || got.String() != "service account sa1" {
		t.Errorf("OwnerOf = %+v (%s)", got, got)
	}
	if got := OwnerOf(secretkind.Document{}); got != (Owner{}) {
		t.Errorf("OwnerOf(no owner) = %+v, want the zero Owner", got)
	}
}

func TestUnreadableDueDateCountsAsDue(t *testing.T) {
	got := Retirements(map[string]string{secretkind.TagRetirePrefix + "k1": "tomorrow"})
	if len(got) != 1 || got[0].Due.IsZero() || !got[0].Due.Before(time.Now()) {
		t.Fatalf("want a due retirement, got %+v", got)
	}
}

func TestRetirementReady(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	current, previous, pending := []string{secretstore.Current}, []string{secretstore.Previous}, []string{secretstore.Pending}
	tests := []struct {
		name   string
		r      Retirement
		labels []string
		want   bool
	}{
		{"next-rotation waits while AWSPREVIOUS holds the key", Retirement{KeyID: "previous"}, previous, false},
		{"next-rotation revokes an unreferenced key", Retirement{KeyID: "old"}, nil, true},
		{"due key held by AWSPREVIOUS", Retirement{KeyID: "previous", Due: now}, previous, true},
		{"grace period not over", Retirement{KeyID: "previous", Due: now.Add(time.Second)}, previous, false},
		{"never while AWSCURRENT", Retirement{KeyID: "current", Due: now.Add(-time.Hour)}, current, false},
		{"never while AWSPENDING", Retirement{KeyID: "pending", Due: now.Add(-time.Hour)}, pending, false},
		{"unidentified and unreferenced", Retirement{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Ready(now, tt.labels); got != tt.want {
				t.Errorf("Ready = %v, want %v", got, tt.want)
			}
		})
	}
}
