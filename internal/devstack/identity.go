package devstack

import (
	"net/http"
	"strings"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/apigateway"
)

// The dev server's headers naming the caller of a request, in place of the
// identity API Gateway's authorizer gives the Lambda functions (which never
// read them).
const (
	// DevPrincipalHeader holds an IAM principal ARN (an assumed-role
	// session's is matched by its role, as on AWS).
	DevPrincipalHeader = "X-Ddconn-Dev-Principal"
	// DevGroupsHeader holds JWT-style groups, comma separated.
	DevGroupsHeader = "X-Ddconn-Dev-Groups"
)

// DevIdentity tells who a dev request comes from: the IAM principal of
// DevPrincipalHeader, else the JWT-style groups of DevGroupsHeader, else
// an administrator (access.KindLocalAdmin), so that requests that name no
// caller work as without a policy.
func DevIdentity(r *http.Request) access.Identity {
	if arn := strings.TrimSpace(r.Header.Get(DevPrincipalHeader)); arn != "" {
		principal, session := access.NormalizePrincipal(arn)
		account := ""
		if parts := strings.SplitN(principal, ":", 6); len(parts) == 6 {
			account = parts[4]
		}
		return access.Identity{Kind: access.KindIAM, Principal: principal, Session: session, Account: account}
	}
	if groups := r.Header.Get(DevGroupsHeader); groups != "" {
		return access.Identity{Kind: access.KindJWT, Principal: "dev", Groups: apigateway.ParseGroups(groups)}
	}
	return access.Identity{Kind: access.KindLocalAdmin}
}
