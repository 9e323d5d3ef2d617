package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

var fixed = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func TestCountWritesEMF(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		value  int
		dims   []Dimension
		golden string
	}{
		{"with a dimension", RotationStepSucceeded, 1, []Dimension{{DimensionStep, "createSecret"}}, "testdata/step_succeeded.json"},
		{"without dimensions", OrphansSwept, 3, nil, "testdata/orphans_swept.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := New(&buf, fixed).Count(tt.metric, tt.value, tt.dims...); err != nil {
				t.Fatalf("Count: %v", err)
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, buf.Bytes(), want)
			if !strings.HasSuffix(buf.String(), "}\n") || strings.Count(buf.String(), "\n") != 1 {
				t.Errorf("want exactly one JSON line, got %q", buf.String())
			}
		})
	}
}

func TestNilWriterDiscards(t *testing.T) {
	var m *Writer
	if err := m.Count(KeysRevoked, 1); err != nil {
		t.Fatalf("nil writer: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCountReportsWriteErrors(t *testing.T) {
	err := New(failingWriter{}, fixed).Count(KeysRevoked, 1)
	if err == nil || !strings.Contains(err.Error(), KeysRevoked) {
		t.Fatalf("want an error naming the metric, got %v", err)
	}
}

func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden is not JSON: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("EMF record\n got %s\nwant %s", gb, wb)
	}
}
