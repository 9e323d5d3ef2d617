//go:build e2e

package e2e

import (
	"net/http"

	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/provisioning"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// rotateTwice rotates each secret twice through Secrets Manager, which
// runs every step in the rotate binary, and checks what the binary
// publishes: Key Rotated after each rotation, naming the new version and
// key and the one replaced, and Key Revoked when the second rotation
// revokes the key the secret was created with (the next-rotation policy).
// The pipeline's final checks find no key material on the bus.
// Rotating the connection replaces its key, so r.creds follows it.
func (r *pipeline) rotateTwice(secrets map[string]secretkind.Kind) {
	t := r.t
	t.Helper()
	for arn, k := range secrets {
		kind := rotation.KindName(k)
		var versions []string
		for range 2 {
			v, err := r.store.Rotate(r.ctx, arn, secretstore.RotateInput{LambdaARN: RotateFunctionARN,
				Rules: &secretstore.RotationRules{AutomaticallyAfterDays: 30}})
			if err != nil {
				t.Fatalf("RotateSecret %s: %v", arn, err)
			}
			waitIdle(r.ctx, t, r.st)
			versions = append(versions, v)
			if doc := r.keyDocument(k, arn); k == secretkind.Connection {
				r.creds.AppKey = doc.Key
			}
		}
		var rotated []rotation.Rotated
		for _, e := range outcomesOf[rotation.Rotated](r, provisioning.KeyRotated) {
			if e.SecretARN == arn {
				rotated = append(rotated, e)
			}
		}
		if len(rotated) != 2 || rotated[0].Kind != kind || rotated[0].VersionID != versions[0] || rotated[1].VersionID != versions[1] ||
			rotated[0].PreviousKeyID == "" || rotated[1].PreviousKeyID != rotated[0].KeyID || rotated[1].KeyID == rotated[0].KeyID {
			t.Errorf("%s %s: Key Rotated %+v, want two chained rotations to versions %v", kind, arn, rotated, versions)
			continue
		}
		var revoked []rotation.Revoked
		for _, e := range outcomesOf[rotation.Revoked](r, provisioning.KeyRevoked) {
			if e.SecretARN == arn {
				revoked = append(revoked, e)
			}
		}
		if len(revoked) != 1 || revoked[0].KeyID != rotated[0].PreviousKeyID || revoked[0].Kind != kind {
			t.Errorf("%s %s: Key Revoked %+v, want one for the original key %s", kind, arn, revoked, rotated[0].PreviousKeyID)
		}
	}
}

// connectionARN is the ARN of the pipeline's connection secret.
func (r *pipeline) connectionARN() string {
	r.t.Helper()
	return describe(r.ctx, r.t, r.store, secretkind.ConnectionName(pipelineConn).SecretName(config.DefaultSecretPrefix)).ARN
}

// rollBack rolls the connection's last rotation back through the manage
// binary: 200 with the connection, its previous key current again, and
// "Rotation Rolled Back" on the bus. r.creds follows the restored key.
func (r *pipeline) rollBack() {
	t := r.t
	t.Helper()
	arn := r.connectionARN()
	previous := document(r.ctx, t, r.store, arn, secretstore.Previous)
	resp := call(r.ctx, t, r.st, "ManageFunction", "POST /connections/{name}/rotation/rollback",
		"/connections/"+pipelineConn+"/rotation/rollback", nil, http.StatusOK, r.secrets)
	var c connection.Connection
	decode(t, resp, &c)
	if c.ApplicationKeyID != previous.KeyID {
		t.Errorf("after the rollback the connection's key is %s, want the previous %s", c.ApplicationKeyID, previous.KeyID)
	}
	doc := r.keyDocument(secretkind.Connection, arn)
	if doc.KeyID != previous.KeyID || !r.st.Simulator.Authenticates(doc.APIKey, doc.Key) {
		t.Fatal("AWSCURRENT does not hold the previous, working key after the rollback")
	}
	r.creds.AppKey = doc.Key
	var back []rotation.RolledBack
	for _, e := range outcomesOf[rotation.RolledBack](r, provisioning.RotationRolledBack) {
		if e.SecretARN == arn {
			back = append(back, e)
		}
	}
	if len(back) != 1 || back[0].KeyID != previous.KeyID || back[0].Kind != rotation.KindConnection {
		t.Errorf("Rotation Rolled Back events %+v, want one restoring %s", back, previous.KeyID)
	}
}
