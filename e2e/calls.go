package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Call is one AWS API call a function sent, as IAM would authorise it: the
// action and the resource it names. A call that needs a second permission
// on AWS is recorded twice: the second time with that permission's action
// and Via naming the operation (see secretsManagerCalls).
type Call struct {
	// Action is the IAM action, such as "secretsmanager:GetSecretValue" or
	// "events:PutEvents".
	Action string
	// Resource is what the call names: a secret's name or ARN, an event
	// bus's name or ARN ("" = the default bus), a function's ARN. It is "*"
	// for ListSecrets, which names none.
	Resource string
	// Sources are the source of a PutEvents entry (IAM's events:source);
	// a request with several entries is recorded as one call per entry.
	Sources []string
	// Via is the operation that needs this permission when it is not the
	// call's own action: "CreateSecret" for the TagResource its tags need.
	Via string
}

// The X-Amz-Target prefixes of the two AWS JSON 1.1 services the stack
// stands in for.
const (
	secretsManagerTarget = "secretsmanager."
	eventBridgeTarget    = "AWSEvents."
)

// maxRecordedBody bounds the request bodies the recorder reads; larger
// bodies are recorded by action only, their resource unknown ("?").
const maxRecordedBody = 1 << 20

// callLog records, per function, the Secrets Manager and EventBridge calls
// it sends, each function having endpoints of its own.
type callLog struct {
	mu    sync.Mutex
	calls map[string][]Call
}

// recorder records the calls of function id, then hands each request on.
func (c *callLog) recorder(id string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
		if err == nil {
			c.add(id, callsOf(r.Header.Get("X-Amz-Target"), body)...)
		}
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		next.ServeHTTP(w, r)
	})
}

// callsOf reads the calls a request makes from its target and JSON body:
// the fields that name resources, never the values.
func callsOf(target string, body []byte) []Call {
	var in struct {
		SecretId          string // most Secrets Manager operations
		Name              string // CreateSecret
		Tags              []json.RawMessage
		RotationLambdaARN string
		Entries           []struct{ Source, EventBusName string }
	}
	if json.Unmarshal(body, &in) != nil {
		in.SecretId, in.Name = "?", "?"
	}
	if op, ok := strings.CutPrefix(target, secretsManagerTarget); ok {
		return secretsManagerCalls(op, in.SecretId, in.Name, len(in.Tags) > 0, in.RotationLambdaARN)
	}
	op, ok := strings.CutPrefix(target, eventBridgeTarget)
	if !ok {
		return nil
	}
	var calls []Call
	for _, e := range in.Entries {
		calls = append(calls, Call{Action: "events:" + op, Resource: e.EventBusName, Sources: []string{e.Source}})
	}
	if len(calls) == 0 {
		calls = append(calls, Call{Action: "events:" + op, Resource: "?"})
	}
	return calls
}

// secretsManagerCalls are the permissions one Secrets Manager operation
// needs: its own action on the secret, plus secretsmanager:TagResource for
// CreateSecret with tags, and lambda:InvokeFunction on the rotation
// function for RotateSecret (as Secrets Manager's documentation says).
func secretsManagerCalls(op, secretID, name string, tagged bool, rotationARN string) []Call {
	resource := secretID
	switch op {
	case "CreateSecret":
		resource = name
	case "ListSecrets":
		resource = "*"
	}
	calls := []Call{{Action: "secretsmanager:" + op, Resource: resource}}
	if op == "CreateSecret" && tagged {
		calls = append(calls, Call{Action: "secretsmanager:TagResource", Resource: resource, Via: op})
	}
	if op == "RotateSecret" && rotationARN != "" {
		calls = append(calls, Call{Action: "lambda:InvokeFunction", Resource: rotationARN, Via: op})
	}
	return calls
}

func (c *callLog) add(id string, calls ...Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[id] = append(c.calls[id], calls...)
}

// all returns the calls of function id, in order.
func (c *callLog) all(id string) []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls[id])
}

// operations returns the operations of one service (an action prefix such
// as "secretsmanager:") that function id sent, sorted, once each.
func (c *callLog) operations(id, service string) []string {
	var ops []string
	for _, call := range c.all(id) {
		if op, ok := strings.CutPrefix(call.Action, service); ok && call.Via == "" && !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	return ops
}
