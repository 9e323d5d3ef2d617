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
	in := []Retirement{
		{KeyID: ""},
		{KeyID: "11111111-1111-4111-8111-111111111111", Due: due},
		{KeyID: "22222222-2222-4222-8222-222222222222"},
	}
	tags := map[string]string{"ddconn:site": "US1", secretkind.TagRetirePrefix: "ignored: no id"}
	for _, r := range in {
		k, v := r.Tag()
		if len(k) > 127 || len(v) > 255 {
			t.Fatalf("tag %q=%q exceeds Secrets Manager's limits", k, v)
		}
		tags[k] = v
	}
	got := Retirements(tags)
	want := []Retirement{in[1], in[2], in[0]} // sorted by tag key; "unidentified" sorts last
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Retirements = %+v, want %+v", got, want)
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
