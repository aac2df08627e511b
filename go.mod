module colt

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/dmitryikh/leaves v0.0.0-20230708180554-25d19a787328
	github.com/sashabaranov/go-openai v1.43.0
)
