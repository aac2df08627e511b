// Package providers talks to the models that propose schedule transformations for the COLT
// search: OpenAI-compatible chat-completions endpoints (through go-openai) and offline
// simulated models whose quality follows their declared size. It builds the prompt of the COLT
// paper's appendix B (BuildPrompt), parses and validates answers (ParseResponse: tolerant in
// form, strict in validity, counting errors as the paper defines them) and reports usage
// (tokens, latency, cost) per call.
//
// A Provider never touches the search tree: it returns a Response and the caller (core)
// applies it, counts its errors, and chooses a model itself when the answer named no valid
// one. Configuration (ModelConfig) comes from colt.toml [[models]]; keys come only from the
// environment variables the configuration names.
package providers
