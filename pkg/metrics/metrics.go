package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every ddconn metric.
const Namespace = "ddconn"

// The metrics ddconn publishes.
const (
	// RotationStepSucceeded counts rotation steps that succeeded (dimension Step).
	RotationStepSucceeded = "RotationStepSucceeded"
	// RotationStepFailed counts rotation steps that failed (dimension Step).
	RotationStepFailed = "RotationStepFailed"
	// KeysRevoked counts retired application keys deleted in Datadog.
	KeysRevoked = "KeysRevoked"
	// OrphansSwept counts orphaned application keys deleted by the sweeper.
	OrphansSwept = "OrphansSwept"
	// Refusals counts requests and events the access policy refused.
	Refusals = "Refusals"
	// KeyHeadroom is, per swept secret, how many more keys its owner (or
	// organisation, for API keys) may hold under Datadog's limit; alarm on
	// its minimum.
	KeyHeadroom = "KeyHeadroom"
)

// DimensionStep is the dimension that names a rotation step.
const DimensionStep = "Step"

// Dimension is one metric dimension.
type Dimension struct {
	Name, Value string
}

// Writer writes EMF records. It is safe for concurrent use; each record is
// written with a single Write call so lines never interleave.
type Writer struct {
	now func() time.Time

	mu sync.Mutex
	w  io.Writer
}

// New returns a Writer that writes to w and stamps records with now.
func New(w io.Writer, now func() time.Time) *Writer {
	if now == nil {
		now = time.Now
	}
	return &Writer{w: w, now: now}
}

// Count records value for metric name with the given dimensions. A nil
// Writer discards it.
func (m *Writer) Count(name string, value int, dims ...Dimension) error {
	if m == nil {
		return nil
	}
	line, err := m.record(name, value, dims)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.w.Write(line); err != nil {
		return fmt.Errorf("writing metric %s: %w", name, err)
	}
	return nil
}

// record builds one EMF line: the _aws metadata naming the metric and its
// dimension keys, then the dimension values and the metric value as
// top-level members.
func (m *Writer) record(name string, value int, dims []Dimension) ([]byte, error) {
	keys := make([]string, 0, len(dims))
	doc := map[string]any{}
	for _, d := range dims {
		keys = append(keys, d.Name)
		doc[d.Name] = d.Value
	}
	doc[name] = value
	doc["_aws"] = emfMetadata{
		Timestamp: m.now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{
			Namespace:  Namespace,
			Dimensions: [][]string{keys},
			Metrics:    []emfMetric{{Name: name, Unit: "Count"}},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding metric %s: %w", name, err)
	}
	return append(b, '\n'), nil
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}
