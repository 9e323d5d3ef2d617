// Package metrics writes CloudWatch metrics in the embedded metric format
// (EMF): one JSON object per line on an io.Writer, which on Lambda is
// stdout. CloudWatch Logs extracts the metrics from those lines, so a
// function publishes metrics without an API call, without credentials and
// without adding latency to the work it measures.
//
// Every metric is a count in namespace Namespace. The names ddconn publishes
// are the constants of this package; dimensions are optional (the rotation
// steps use one, Step).
//
// A nil *Writer discards everything, so packages can take one as an option
// without checking for it.
package metrics
