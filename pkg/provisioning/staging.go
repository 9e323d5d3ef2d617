package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// maxStagingBytes bounds a staging secret's value: two keys and their names.
const maxStagingBytes = 4 << 10

// stagedKeys is the document of a staging secret. Its String methods keep
// the keys out of any formatted output.
type stagedKeys struct {
	APIKey         string `json:"apiKey"`
	ApplicationKey string `json:"applicationKey"`
}

func (stagedKeys) String() string   { return "staged keys (redacted)" }
func (stagedKeys) GoString() string { return "staged keys (redacted)" }

// checkStagingARN checks that arn names a Secrets Manager secret under the
// staging prefix — for a connection of a team, under the team's own,
// StagingPrefix + team + "/": ddconn reads keys from nowhere else, so a
// request cannot make it copy another connection's, another team's or
// another system's secret.
func (p *Processor) checkStagingARN(arn, team string) error {
	wantPrefix := p.prefix + StagingPrefix
	if team != "" {
		wantPrefix += team + "/"
	}
	parts := strings.SplitN(arn, ":", 7)
	if len(arn) > 2048 || len(parts) != 7 || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[5] != "secret" {
		return invalidRequest("credentialsSecretArn", "must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
	}
	if !strings.HasPrefix(parts[6], wantPrefix) || len(parts[6]) == len(wantPrefix) {
		return invalidRequest("credentialsSecretArn", fmt.Sprintf("must name a staging secret: its name must start with %q", wantPrefix))
	}
	return nil
}

func invalidRequest(field, message string) *failure {
	return &failure{reason: ReasonInvalidRequest, message: "the request is invalid",
		details: []connection.FieldError{{Field: field, Message: message}}}
}

// stagedCredentials reads the keys of a "Create Connection" request from
// its staging secret.
func (p *Processor) stagedCredentials(ctx context.Context, d *CreateConnectionDetail) (connection.CredentialsInput, error) {
	v, err := p.staging.Get(ctx, d.CredentialsSecretARN, "", secretstore.Current)
	switch {
	case errors.Is(err, secretstore.ErrNotFound) || errors.Is(err, secretstore.ErrPendingDeletion):
		return connection.CredentialsInput{}, &failure{reason: ReasonSourceSecretNotFound, message: sourceNotFoundMessage, cause: err}
	case errors.Is(err, secretstore.ErrThrottled) || errors.Is(err, secretstore.ErrUnavailable):
		return connection.CredentialsInput{}, &failure{reason: ReasonUnavailable, message: "reading the staging secret failed: Secrets Manager is unavailable" + retryingSuffix, cause: err}
	case err != nil:
		return connection.CredentialsInput{}, &failure{reason: ReasonSourceSecretUnreadable, message: sourceUnreadableMessage, cause: err}
	}
	keys, ok := parseStaged(v.Value)
	if !ok {
		return connection.CredentialsInput{}, &failure{reason: ReasonSourceSecretInvalid, message: sourceInvalidMessage}
	}
	return connection.CredentialsInput{URL: d.URL, APIKey: keys.APIKey, ApplicationKey: keys.ApplicationKey}, nil
}

// parseStaged decodes a staging document strictly. It reports no detail:
// any error text could quote the value.
func parseStaged(value string) (stagedKeys, bool) {
	if len(value) > maxStagingBytes {
		return stagedKeys{}, false
	}
	var keys stagedKeys
	dec := json.NewDecoder(strings.NewReader(value))
	dec.DisallowUnknownFields()
	if dec.Decode(&keys) != nil || keys.APIKey == "" || keys.ApplicationKey == "" {
		return stagedKeys{}, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return stagedKeys{}, false
	}
	return keys, true
}

// dropStaging deletes the staging secret at once (no recovery window: the
// connection holds the keys now). Already gone counts as done.
func (p *Processor) dropStaging(ctx context.Context, arn string) bool {
	_, err := p.staging.Delete(ctx, arn, 0, true)
	if err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		p.log.WarnContext(ctx, "deleting the staging secret failed; delete it by hand", "secret_arn", arn, "error", err)
		return false
	}
	return true
}
