package secretstore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// PutPolicy attaches the resource policy document to a secret, replacing
// any other (PutResourcePolicy). BlockPublicPolicy is always set: Secrets
// Manager refuses a policy that would open the secret to broad access.
func (s *Store) PutPolicy(ctx context.Context, id, policy string) error {
	_, err := s.sm.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
		SecretId:          aws.String(id),
		ResourcePolicy:    aws.String(policy),
		BlockPublicPolicy: aws.Bool(true),
	})
	return wrap("putting the resource policy of", id, err)
}

// Policy returns a secret's resource policy document, "" when it has none
// (GetResourcePolicy).
func (s *Store) Policy(ctx context.Context, id string) (string, error) {
	out, err := s.sm.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(id)})
	if err != nil {
		return "", wrap("reading the resource policy of", id, err)
	}
	return aws.ToString(out.ResourcePolicy), nil
}

// DeletePolicy removes a secret's resource policy; a secret without one
// is no error (DeleteResourcePolicy).
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	_, err := s.sm.DeleteResourcePolicy(ctx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String(id)})
	return wrap("deleting the resource policy of", id, err)
}
