// Package providers talks to the LLMs that propose schedule transformations: OpenAI-compatible
// HTTP endpoints and the offline simulated models, with prompt building and response parsing.
// It arrives with the COLT issue.
package providers
