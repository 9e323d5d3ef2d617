package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Rollbacker rolls a secret's last rotation back; *rotation.Rotator
// implements it.
type Rollbacker interface {
	Rollback(ctx context.Context, n secretkind.Name) (rotation.RolledBack, error)
}

var _ Rollbacker = (*rotation.Rotator)(nil)

// Error codes of the rollback routes (409).
const (
	// CodePreviousKeyRevoked: the previous key is revoked; rotate instead.
	CodePreviousKeyRevoked = "previous_key_revoked"
	// CodeNothingToRollBack: the secret has no previous version.
	CodeNothingToRollBack = "nothing_to_roll_back"
)

// rollbackRoutes are the rollback routes of a connection and of both
// kinds of managed key. Each rolls back, then answers with the object as
// GET shows it. Without a Rollbacker they answer 503
// rotation_not_configured.
func (a *api) rollbackRoutes(m manager, keys ManagedKeys) handlers {
	if keys == nil {
		keys = unconfiguredKeys{}
	}
	return handlers{
		"POST /connections/{name}/rotation/rollback": a.rollback(func(r *http.Request) secretkind.Name {
			return secretkind.ConnectionName(r.PathValue("name"))
		}, "/connections/{name}/rotate", func(ctx context.Context, r *http.Request) (any, error) {
			return m.Get(ctx, r.PathValue("name"))
		}),
		"POST /connections/{name}/application-keys/{key}/rotation/rollback": a.rollback(func(r *http.Request) secretkind.Name {
			return secretkind.Name{Kind: secretkind.AppKey, Connection: r.PathValue("name"), Key: r.PathValue("key")}
		}, "", func(ctx context.Context, r *http.Request) (any, error) {
			return keys.Get(ctx, r.PathValue("name"), r.PathValue("key"))
		}),
		"POST /connections/{name}/api-keys/{key}/rotation/rollback": a.rollback(func(r *http.Request) secretkind.Name {
			return secretkind.Name{Kind: secretkind.APIKey, Connection: r.PathValue("name"), Key: r.PathValue("key")}
		}, "", func(ctx context.Context, r *http.Request) (any, error) {
			return keys.GetAPIKey(ctx, r.PathValue("name"), r.PathValue("key"))
		}),
	}
}

// rollback reads the object first (so a missing one is 404, as for GET),
// rolls its rotation back, and answers 200 with the object read again.
// rotatePath is where the 409 for a revoked previous key points (a
// connection's rotate-now route; managed keys rotate on schedule).
func (a *api) rollback(name func(*http.Request) secretkind.Name, rotatePath string, get func(context.Context, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := get(r.Context(), r); err != nil {
			a.writeError(w, r, err)
			return
		}
		if a.rollbacker == nil {
			a.writeError(w, r, &requestError{status: http.StatusServiceUnavailable, code: CodeRotationUnavailable,
				message: "rollback is not configured in this deployment"})
			return
		}
		n := name(r)
		if _, err := a.rollbacker.Rollback(r.Context(), n); err != nil {
			a.log.InfoContext(r.Context(), "rollback refused or failed", "secret", n.String(), "err", err)
			a.writeError(w, r, rollbackError(n, rotatePath, r, err))
			return
		}
		a.respond(w, r, http.StatusOK)(get(r.Context(), r))
	}
}

// rollbackError turns a failed rollback into the API's answer.
func rollbackError(n secretkind.Name, rotatePath string, r *http.Request, err error) error {
	conflict := func(code, message string) error {
		return &requestError{status: http.StatusConflict, code: code, message: message}
	}
	switch {
	case errors.Is(err, rotation.ErrPreviousRevoked):
		advice := "to replace the current key, rotate now: POST /connections/" + r.PathValue("name") + "/rotate"
		if rotatePath == "" {
			advice = "to replace the current key, let the next scheduled rotation run, or delete and mint the key again"
		}
		return conflict(CodePreviousKeyRevoked, fmt.Sprintf("the previous key of %s has been revoked, so there is nothing to roll back to; %s", n, advice))
	case errors.Is(err, rotation.ErrNoPrevious):
		return conflict(CodeNothingToRollBack, fmt.Sprintf("%s has not been rotated: there is no previous version to roll back to", n))
	case errors.Is(err, rotation.ErrRollbackDuringRotation):
		return conflict(CodeRotationInProgress, fmt.Sprintf("a rotation of %s is in progress or has just completed; nothing was rolled back - read it again and retry if it still needs rolling back", n))
	case errors.Is(err, secretstore.ErrNotFound):
		return &requestError{status: http.StatusNotFound, code: CodeNotFound, message: fmt.Sprintf("%s does not exist", n)}
	case errors.Is(err, datadog.ErrUnavailable), errors.Is(err, datadog.ErrUnauthorized):
		return &requestError{status: http.StatusBadGateway, code: CodeDatadogUnavailable,
			message: "Datadog could not confirm that the previous key still works; nothing was rolled back - try again"}
	}
	return &requestError{status: http.StatusServiceUnavailable, code: CodeStoreUnavailable,
		message: "the rollback could not be completed; read the object to see whether it took effect before retrying"}
}
