package kmsemu

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ddconn/ddconn/internal/statefile"
)

const (
	jsonContentType = "application/x-amz-json-1.1"
	// TargetPrefix starts the X-Amz-Target of every KMS operation.
	TargetPrefix   = "TrentService."
	maxRequestBody = 1 << 20
	// DefaultAccountID owns the emulator's keys unless Options say otherwise.
	DefaultAccountID = "123456789012"
	// snapshotFormat versions the DataFile layout.
	snapshotFormat = 1
)

// Options configures an Emulator. Zero values give the defaults shown.
type Options struct {
	// Region and AccountID make the keys' ARNs; "" means us-east-1 and
	// DefaultAccountID.
	Region, AccountID string
	// KeyIDs are keys that exist from the start (created when missing), so
	// a dev stack has a fixed key ARN across restarts.
	KeyIDs []string
	// DataFile, when set, keeps keys and grants across restarts.
	DataFile string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one debug record per call, never a request body;
	// nil discards.
	Logger *slog.Logger
}

// Emulator is the KMS stand-in; it is an http.Handler and safe for
// concurrent use.
type Emulator struct {
	opts   Options
	log    *slog.Logger
	mu     sync.Mutex
	keys   map[string]*key // by key id
	seq    int64
	faults map[string][]string // operation → error types to answer, in order
}

type key struct {
	ID          string    `json:"id"`
	ARN         string    `json:"arn"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Grants      []*grant  `json:"grants,omitempty"`
}

type grant struct {
	Seq               int64        `json:"seq"`
	ID                string       `json:"id"`
	Name              string       `json:"name,omitempty"`
	GranteePrincipal  string       `json:"granteePrincipal"`
	RetiringPrincipal string       `json:"retiringPrincipal,omitempty"`
	Operations        []string     `json:"operations"`
	Constraints       *constraints `json:"constraints,omitempty"`
	Tokens            []string     `json:"tokens"`
	Created           time.Time    `json:"created"`
}

type constraints struct {
	EncryptionContextSubset map[string]string `json:"EncryptionContextSubset,omitempty"`
	EncryptionContextEquals map[string]string `json:"EncryptionContextEquals,omitempty"`
}

// New returns an Emulator, loading DataFile when it exists.
func New(opts Options) (*Emulator, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Emulator{opts: opts, log: opts.Logger, keys: map[string]*key{}, faults: map[string][]string{}}
	if e.log == nil {
		e.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.DataFile != "" {
		if err := e.load(opts.DataFile); err != nil {
			return nil, fmt.Errorf("kmsemu: loading %s: %w", opts.DataFile, err)
		}
	}
	for _, id := range opts.KeyIDs {
		if _, ok := e.keys[id]; !ok {
			e.keys[id] = &key{ID: id, ARN: e.KeyARN(id), Created: opts.Now().UTC()}
		}
	}
	return e, nil
}

// KeyARN is the ARN of key id.
func (e *Emulator) KeyARN(id string) string {
	return "arn:aws:kms:" + e.opts.Region + ":" + e.opts.AccountID + ":key/" + id
}

// Grant is a grant as tests inspect it.
type Grant struct {
	ID, Name, GranteePrincipal string
	Operations                 []string
	// EncryptionContextSubset is the grant's constraint, if any.
	EncryptionContextSubset map[string]string
}

// Grants returns the grants of key id (or ARN), in creation order.
func (e *Emulator) Grants(id string) []Grant {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := e.lookup(id)
	if k == nil {
		return nil
	}
	out := make([]Grant, 0, len(k.Grants))
	for _, g := range k.Grants {
		c := Grant{ID: g.ID, Name: g.Name, GranteePrincipal: g.GranteePrincipal, Operations: append([]string(nil), g.Operations...)}
		if g.Constraints != nil {
			c.EncryptionContextSubset = g.Constraints.EncryptionContextSubset
		}
		out = append(out, c)
	}
	return out
}

// AddFault makes the next calls of operation answer errType (such as
// "KMSInternalException" or "DependencyTimeoutException"), count times.
func (e *Emulator) AddFault(operation, errType string, count int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for range count {
		e.faults[operation] = append(e.faults[operation], errType)
	}
}

// ClearFaults drops every fault not yet answered.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.faults)
}

// lookup finds a key by id or key ARN of this region and account.
func (e *Emulator) lookup(id string) *key {
	if rest, ok := strings.CutPrefix(id, e.KeyARN("")); ok {
		id = rest
	} else if strings.HasPrefix(id, "arn:") {
		return nil
	}
	return e.keys[id]
}

type operation func(e *Emulator, body []byte) (any, error)

func handle[In, Out any](f func(*Emulator, In) (Out, error)) operation {
	return func(e *Emulator, body []byte) (any, error) {
		var in In
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return nil, newAPIError(typeSerialization, "The request body is not valid JSON for this operation.")
			}
		}
		return f(e, in)
	}
}

var operations = map[string]operation{
	"CreateKey":   handle((*Emulator).createKey),
	"DescribeKey": handle((*Emulator).describeKey),
	"CreateGrant": handle((*Emulator).createGrant),
	"ListGrants":  handle((*Emulator).listGrants),
	"RevokeGrant": handle((*Emulator).revokeGrant),
	"RetireGrant": handle((*Emulator).retireGrant),
}

// mutating operations save DataFile after they succeed.
var mutating = map[string]bool{"CreateKey": true, "CreateGrant": true, "RevokeGrant": true, "RetireGrant": true}

// ServeHTTP answers AWS JSON 1.1 on POST /. SigV4 headers are accepted
// unverified.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newID(16)
	w.Header().Set("x-amzn-RequestId", requestID)
	out, op, err := e.serve(r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = newAPIError(typeInternal, "An error occurred on the server side.")
		}
		e.log.DebugContext(r.Context(), "kms call failed", "requestId", requestID, "operation", op, "errorType", ae.Type)
		writeJSON(w, ae.status(), map[string]string{"__type": ae.Type, "message": ae.Message})
		return
	}
	e.log.DebugContext(r.Context(), "kms call", "requestId", requestID, "operation", op)
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) serve(r *http.Request) (any, string, error) {
	if r.Method != http.MethodPost {
		return nil, "", newAPIError(typeUnknownOperation, "KMS operations are POST requests to /.")
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	run, known := operations[op]
	if !ok || !known {
		return nil, op, newAPIError(typeUnknownOperation, "The operation %q is not supported by this emulator (kmsemu).", r.Header.Get("X-Amz-Target"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil || len(body) > maxRequestBody {
		return nil, op, newAPIError(typeSerialization, "The request body could not be read or is too large.")
	}
	if err := e.injected(op); err != nil {
		return nil, op, err
	}
	out, err := run(e, body)
	if err == nil && mutating[op] {
		if serr := e.save(); serr != nil {
			e.log.Error("persisting kms emulator state failed", "error", serr.Error())
		}
	}
	return out, op, err
}

func (e *Emulator) injected(op string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	queue := e.faults[op]
	if len(queue) == 0 {
		return nil
	}
	e.faults[op] = queue[1:]
	return newAPIError(queue[0], "Injected fault.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"__type":"KMSInternalException","message":"Encoding the response failed."}`)
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// snapshot is the DataFile content: keys and their grants (no secrets).
type snapshot struct {
	Format int    `json:"format"`
	Seq    int64  `json:"seq"`
	Keys   []*key `json:"keys"`
}

func (e *Emulator) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	if snap.Format != snapshotFormat {
		return fmt.Errorf("unsupported format %d (want %d)", snap.Format, snapshotFormat)
	}
	e.seq = snap.Seq
	for _, k := range snap.Keys {
		e.keys[k.ID] = k
	}
	return nil
}

// save writes the state to DataFile atomically (statefile.Write).
func (e *Emulator) save() error {
	if e.opts.DataFile == "" {
		return nil
	}
	e.mu.Lock()
	snap := snapshot{Format: snapshotFormat, Seq: e.seq}
	for _, k := range e.keys {
		snap.Keys = append(snap.Keys, k)
	}
	slices.SortFunc(snap.Keys, func(a, b *key) int { return cmp.Compare(a.ID, b.ID) })
	data, err := json.MarshalIndent(snap, "", "  ")
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return statefile.Write(e.opts.DataFile, data)
}

// newID returns n random bytes as hex.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// newKeyID returns a version 4 UUID, the form of KMS key ids.
func newKeyID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
