package smemu

import (
	"encoding/json"
	"slices"
)

// maxPolicyLen is the model's bound on ResourcePolicy (NonEmptyResourcePolicyType).
const maxPolicyLen = 20480

type putResourcePolicyInput struct {
	SecretId          string
	ResourcePolicy    *string
	BlockPublicPolicy *bool
}

type getResourcePolicyOutput struct {
	ARN            string `json:"ARN"`
	Name           string `json:"Name"`
	ResourcePolicy string `json:"ResourcePolicy,omitempty"`
}

// putResourcePolicy attaches a resource policy to a secret, replacing any
// other. The document must be a JSON object; with BlockPublicPolicy a
// statement that allows every principal ("*") without a condition is
// refused, the emulator's reading of the public-access check AWS runs.
func (e *Emulator) putResourcePolicy(in putResourcePolicyInput) (arnName, error) {
	if in.ResourcePolicy == nil {
		return arnName{}, errConstraint("resourcePolicy", "must not be null")
	}
	if err := checkMaxLen("resourcePolicy", *in.ResourcePolicy, maxPolicyLen); err != nil {
		return arnName{}, err
	}
	if *in.ResourcePolicy == "" {
		return arnName{}, errConstraint("resourcePolicy", "must have length greater than or equal to 1")
	}
	doc, err := parsePolicy(*in.ResourcePolicy)
	if err != nil {
		return arnName{}, err
	}
	if in.BlockPublicPolicy != nil && *in.BlockPublicPolicy && doc.public() {
		return arnName{}, newAPIError(typePublicPolicy, "The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent broad access to the secret.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return arnName{}, err
	}
	s.Policy = *in.ResourcePolicy
	return arnName{ARN: s.ARN, Name: s.Name}, nil
}

// getResourcePolicy returns the secret's resource policy as it was put;
// ResourcePolicy is absent when the secret has none.
func (e *Emulator) getResourcePolicy(in secretIDInput) (getResourcePolicyOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolve(in.SecretId)
	if err != nil {
		return getResourcePolicyOutput{}, err
	}
	return getResourcePolicyOutput{ARN: s.ARN, Name: s.Name, ResourcePolicy: s.Policy}, nil
}

// deleteResourcePolicy removes the secret's resource policy; a secret
// without one answers the same.
func (e *Emulator) deleteResourcePolicy(in secretIDInput) (arnName, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return arnName{}, err
	}
	s.Policy = ""
	return arnName{ARN: s.ARN, Name: s.Name}, nil
}

// policyDocument is the part of an IAM policy the public check reads.
type policyDocument struct {
	Statement statements `json:"Statement"`
}

type policyStatement struct {
	Effect    string          `json:"Effect"`
	Principal json.RawMessage `json:"Principal"`
	Condition json.RawMessage `json:"Condition"`
}

// statements reads Statement as IAM does: one statement or a list.
type statements []policyStatement

func (s *statements) UnmarshalJSON(b []byte) error {
	var one policyStatement
	if json.Unmarshal(b, &one) == nil {
		*s = statements{one}
		return nil
	}
	var many []policyStatement
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

func parsePolicy(raw string) (policyDocument, error) {
	var doc policyDocument
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || len(doc.Statement) == 0 {
		return policyDocument{}, newAPIError(typeMalformedPolicy, "This resource policy contains a syntax error.")
	}
	return doc, nil
}

// public reports whether a statement allows every principal without a
// condition: "Principal": "*" or {"AWS": "*"} (or a list holding "*").
func (d policyDocument) public() bool {
	for _, st := range d.Statement {
		if st.Effect != "Allow" || len(st.Condition) > 0 && string(st.Condition) != "null" {
			continue
		}
		var star string
		if json.Unmarshal(st.Principal, &star) == nil && star == "*" {
			return true
		}
		var byType map[string]json.RawMessage
		if json.Unmarshal(st.Principal, &byType) != nil {
			continue
		}
		aws := byType["AWS"]
		var one string
		var many []string
		if json.Unmarshal(aws, &one) == nil && one == "*" || json.Unmarshal(aws, &many) == nil && slices.Contains(many, "*") {
			return true
		}
	}
	return false
}
