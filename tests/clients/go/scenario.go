// The scenario each encoding runs: every ChatService method with its response fields checked,
// paging, the session's life cycle, renaming and deleting, and Twirp errors by code, HTTP status
// and meta.

package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"acaichat/internal/pb"

	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	unknownID    = "ffffffffffffffffffffffff"
	maxListPages = 50
	callTimeout  = 60 * time.Second
)

var conversationID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// Check is one named check's outcome.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
}

// Result is one encoding's outcome.
type Result struct {
	Encoding    string         `json:"encoding"`
	ContentType string         `json:"content_type"`
	Passed      bool           `json:"passed"`
	Checks      []Check        `json:"checks"`
	Calls       map[string]int `json:"calls"`
}

// failure ends a check: check() turns it into a failed Check.
type failure struct{ msg string }

func fail(format string, args ...any) {
	panic(failure{fmt.Sprintf(format, args...)})
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func equal(got, want any, what string) {
	if !reflect.DeepEqual(got, want) {
		fail("%s: got %#v, want %#v", what, got, want)
	}
}

func nonEmpty(value, what string) {
	if value == "" {
		fail("%s is empty", what)
	}
}

// recent fails unless the timestamp is within an hour of this machine's clock: a unit or zone
// slip in either encoding shows as hours or years.
func recent(ts *timestamppb.Timestamp, what string) {
	if ts == nil {
		fail("%s: timestamp missing", what)
	}
	if err := ts.CheckValid(); err != nil {
		fail("%s: %v", what, err)
	}
	if delta := time.Since(ts.AsTime()); delta > time.Hour || delta < -time.Hour {
		fail("%s: timestamp %s is %s away from now", what, ts.AsTime().Format(time.RFC3339Nano), delta)
	}
}

type scenario struct {
	client  *Client
	echo    bool
	label   string
	session *pb.SessionMetadata
	checks  []Check
	// Filled by the checks, read by later ones.
	id       string
	title    string
	messages []string // user messages sent to the conversation, in order
	replies  []string
}

// reply checks an assistant reply; with -echo (the test server's fake model answers
// "echo: <the user message>") it must also answer the message just sent.
func (s *scenario) reply(reply, message, what string) {
	nonEmpty(reply, what+" reply")
	if s.echo && !strings.Contains(reply, message) {
		fail("%s reply %q does not echo the message %q", what, reply, message)
	}
}

func (s *scenario) check(name string, body func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	result := Check{Name: name, Passed: true}
	func() {
		defer func() {
			if r := recover(); r != nil {
				result.Passed = false
				if f, ok := r.(failure); ok {
					result.Error = f.msg
				} else {
					result.Error = fmt.Sprintf("panic: %v", r)
				}
			}
		}()
		body(ctx)
	}()
	s.checks = append(s.checks, result)
}

// twirpError runs a call that must fail with a Twirp error and returns that error.
func twirpError(err error, what string) *TwirpError {
	if err == nil {
		fail("%s: the call succeeded", what)
	}
	var twerr *TwirpError
	if !errors.As(err, &twerr) {
		fail("%s: not a Twirp error: %v", what, err)
	}
	return twerr
}

func expectError(err error, what, code string, status int, meta map[string]string) {
	twerr := twirpError(err, what)
	equal([]any{twerr.Code, twerr.Status}, []any{code, status}, what+": code and HTTP status")
	if len(meta) == 0 {
		equal(len(twerr.Meta), 0, what+": meta entries")
	} else {
		equal(twerr.Meta, meta, what+": meta")
	}
	nonEmpty(twerr.Msg, what+": msg")
}

type roleAndContent struct {
	Role    string
	Content string
}

func transcript(messages []*pb.Conversation_Message) []roleAndContent {
	out := make([]roleAndContent, 0, len(messages))
	for _, m := range messages {
		out = append(out, roleAndContent{m.GetRole().String(), m.GetContent()})
	}
	return out
}

func (s *scenario) expectedTranscript() []roleAndContent {
	var out []roleAndContent
	for i, message := range s.messages {
		out = append(out, roleAndContent{"USER", message})
		if i < len(s.replies) {
			out = append(out, roleAndContent{"ASSISTANT", s.replies[i]})
		}
	}
	return out
}

// Run runs every check with the client; a failed check is recorded and the next one still runs.
func Run(client *Client, prefix string, echo bool) Result {
	runID := fmt.Sprintf("%s-%d", client.encoding.Name(), time.Now().UnixNano())
	s := &scenario{
		client:  client,
		echo:    echo,
		label:   "go/" + client.encoding.Name(),
		session: &pb.SessionMetadata{Platform: "api", UserId: "go-client", ChatId: "chat-" + runID},
	}
	c := client

	s.check("StartConversation", func(ctx context.Context) {
		message := "first message from " + s.label
		started, err := c.StartConversation(ctx, &pb.StartConversationRequest{
			Message:         message,
			SessionMetadata: s.session,
			IdempotencyKey:  "start-" + runID,
		})
		must(err, "StartConversation")
		if !conversationID.MatchString(started.GetConversationId()) {
			fail("conversation_id %q is not 24 lowercase hex characters", started.GetConversationId())
		}
		nonEmpty(started.GetTitle(), "title")
		s.reply(started.GetReply(), message, "StartConversation")
		s.id, s.title = started.GetConversationId(), started.GetTitle()
		s.messages = append(s.messages, message)
		s.replies = append(s.replies, started.GetReply())
	})

	s.check("ContinueConversation", func(ctx context.Context) {
		message := "second message from " + s.label
		continued, err := c.ContinueConversation(ctx, &pb.ContinueConversationRequest{
			ConversationId: s.id,
			Message:        message,
		})
		must(err, "ContinueConversation")
		s.reply(continued.GetReply(), message, "ContinueConversation")
		equal(continued.GetConversationId(), s.id, "conversation_id")
		equal(continued.GetNewConversation(), false, "new_conversation")
		equal(continued.GetTitle(), "", "title of a turn that started nothing")
		s.messages = append(s.messages, message)
		s.replies = append(s.replies, continued.GetReply())
	})

	s.check("ContinueConversation by session", func(ctx context.Context) {
		message := "third message from " + s.label
		continued, err := c.ContinueConversation(ctx, &pb.ContinueConversationRequest{
			Message:         message,
			SessionMetadata: s.session,
		})
		must(err, "ContinueConversation")
		equal(continued.GetConversationId(), s.id, "the session's conversation_id")
		equal(continued.GetNewConversation(), false, "new_conversation")
		s.reply(continued.GetReply(), message, "ContinueConversation")
		s.messages = append(s.messages, message)
		s.replies = append(s.replies, continued.GetReply())
	})

	s.check("DescribeConversation", func(ctx context.Context) {
		described, err := c.DescribeConversation(ctx, &pb.DescribeConversationRequest{ConversationId: s.id})
		must(err, "DescribeConversation")
		conversation := described.GetConversation()
		if conversation == nil {
			fail("no conversation in the response")
		}
		equal(conversation.GetId(), s.id, "conversation.id")
		equal(conversation.GetTitle(), s.title, "conversation.title")
		recent(conversation.GetTimestamp(), "conversation.timestamp")
		equal(transcript(conversation.GetMessages()), s.expectedTranscript(), "messages")
		ids := map[string]bool{}
		for i, m := range conversation.GetMessages() {
			what := fmt.Sprintf("messages[%d]", i)
			nonEmpty(m.GetId(), what+".id")
			if ids[m.GetId()] {
				fail("%s.id %q repeats an earlier message's", what, m.GetId())
			}
			ids[m.GetId()] = true
			recent(m.GetTimestamp(), what+".timestamp")
			equal(len(m.GetToolCalls()), 0, what+".tool_calls")
			equal([]string{m.GetToolCallId(), m.GetToolName()}, []string{"", ""}, what+" tool fields")
		}
		equal(described.GetNextPageToken(), "", "next_page_token")
	})

	s.check("DescribeConversation paging", func(ctx context.Context) {
		want := s.expectedTranscript()
		if len(want) != 6 {
			fail("the conversation has %d messages so far, want 6", len(want))
		}
		page1, err := c.DescribeConversation(ctx, &pb.DescribeConversationRequest{ConversationId: s.id, PageSize: 4})
		must(err, "DescribeConversation page 1")
		equal(transcript(page1.GetConversation().GetMessages()), want[:4], "page 1")
		nonEmpty(page1.GetNextPageToken(), "next_page_token of page 1")
		page2, err := c.DescribeConversation(ctx, &pb.DescribeConversationRequest{
			ConversationId: s.id, PageSize: 4, PageToken: page1.GetNextPageToken(),
		})
		must(err, "DescribeConversation page 2")
		equal(page2.GetConversation().GetId(), s.id, "page 2 conversation.id")
		equal(transcript(page2.GetConversation().GetMessages()), want[4:], "page 2")
		equal(page2.GetNextPageToken(), "", "next_page_token of the last page")
	})

	s.check("ListConversations paging", func(ctx context.Context) {
		middle, err := c.StartConversation(ctx, &pb.StartConversationRequest{Message: "conversation 2 from " + s.label})
		must(err, "StartConversation 2")
		newest, err := c.StartConversation(ctx, &pb.StartConversationRequest{Message: "conversation 3 from " + s.label})
		must(err, "StartConversation 3")
		expected := []string{newest.GetConversationId(), middle.GetConversationId(), s.id}
		wanted := map[string]bool{}
		for _, id := range expected {
			wanted[id] = true
		}
		var seen, ours []string
		titles := map[string]string{}
		pageToken := ""
		for page := 0; page < maxListPages; page++ {
			listed, err := c.ListConversations(ctx, &pb.ListConversationsRequest{PageSize: 2, PageToken: pageToken})
			must(err, fmt.Sprintf("ListConversations page %d", page+1))
			if n := len(listed.GetConversations()); n > 2 {
				fail("page %d has %d conversations, page_size is 2", page+1, n)
			}
			for _, conversation := range listed.GetConversations() {
				equal(len(conversation.GetMessages()), 0, "messages of a listed conversation")
				recent(conversation.GetTimestamp(), "listed conversation timestamp")
				seen = append(seen, conversation.GetId())
				titles[conversation.GetId()] = conversation.GetTitle()
				if wanted[conversation.GetId()] {
					ours = append(ours, conversation.GetId())
				}
			}
			pageToken = listed.GetNextPageToken()
			if page == 0 && pageToken == "" {
				fail("a full first page has no next_page_token")
			}
			if pageToken == "" || len(ours) == len(expected) {
				break
			}
		}
		unique := map[string]bool{}
		for _, id := range seen {
			if unique[id] {
				fail("conversation %s appears on two pages", id)
			}
			unique[id] = true
		}
		equal(ours, expected, "this run's conversations, newest first")
		equal(titles[s.id], s.title, "listed title")
		nonEmpty(titles[newest.GetConversationId()], "title of the newest conversation")
	})

	s.check("UpdateConversation", func(ctx context.Context) {
		title := "Go title from " + s.label
		updated, err := c.UpdateConversation(ctx, &pb.UpdateConversationRequest{ConversationId: s.id, Title: "  " + title + " "})
		must(err, "UpdateConversation")
		conversation := updated.GetConversation()
		if conversation == nil {
			fail("no conversation in the response")
		}
		equal(conversation.GetId(), s.id, "conversation.id")
		equal(conversation.GetTitle(), title, "conversation.title (surrounding spaces removed)")
		recent(conversation.GetTimestamp(), "conversation.timestamp")
		equal(len(conversation.GetMessages()), 0, "messages of the updated conversation")
		described, err := c.DescribeConversation(ctx, &pb.DescribeConversationRequest{ConversationId: s.id, PageSize: 1})
		must(err, "DescribeConversation after UpdateConversation")
		equal(described.GetConversation().GetTitle(), title, "title described after the update")
		s.title = title
	})

	s.check("GetUsage", func(ctx context.Context) {
		report, err := c.GetUsage(ctx, &pb.GetUsageRequest{})
		must(err, "GetUsage")
		nonEmpty(report.GetEndDate(), "end_date of the usage report")
		if report.GetTotal().GetTurns() < 1 {
			fail("the usage report counts no turn")
		}
	})

	s.check("CancelTurn", func(ctx context.Context) {
		message := "a turn to stop from " + s.label
		continued, err := c.ContinueConversation(ctx, &pb.ContinueConversationRequest{
			ConversationId: s.id,
			Message:        message,
		})
		must(err, "ContinueConversation before CancelTurn")
		s.messages = append(s.messages, message)
		s.replies = append(s.replies, continued.GetReply())
		nonEmpty(continued.GetTurnId(), "turn_id of a unary turn")
		// The unary turn has ended: there is nothing left to stop.
		stopped, err := c.CancelTurn(ctx, &pb.CancelTurnRequest{TurnId: continued.GetTurnId()})
		if err == nil {
			equal(stopped.GetCancelled(), false, "cancelled, for a turn that has ended")
		} else {
			expectError(err, "CancelTurn of an ended unary turn", "not_found", 404, nil)
		}
		_, err = c.CancelTurn(ctx, &pb.CancelTurnRequest{})
		expectError(err, "CancelTurn without an id", "invalid_argument", 400, map[string]string{"argument": "turn_id"})
	})

	s.check("Conversation controls", func(ctx context.Context) {
		models, err := c.ListModels(ctx, &pb.ListModelsRequest{})
		must(err, "ListModels")
		if len(models.GetModels()) == 0 || !models.GetModels()[0].GetIsDefault() {
			fail("ListModels: want the default model first, got %v", models.GetModels())
		}
		model := models.GetModels()[0].GetId()
		started, err := c.StartConversation(ctx, &pb.StartConversationRequest{
			Message: "controls from " + s.label, Model: model, Instructions: "Be brief.",
		})
		must(err, "StartConversation with a model and instructions")
		id := started.GetConversationId()
		regenerated, err := c.RegenerateReply(ctx, &pb.RegenerateReplyRequest{ConversationId: id})
		must(err, "RegenerateReply")
		nonEmpty(regenerated.GetReply(), "regenerated reply")
		edited, err := c.EditLastMessage(ctx, &pb.EditLastMessageRequest{ConversationId: id, Message: "edited from " + s.label})
		must(err, "EditLastMessage")
		nonEmpty(edited.GetReply(), "reply to the edit")
		described, err := c.DescribeConversation(ctx, &pb.DescribeConversationRequest{ConversationId: id})
		must(err, "DescribeConversation after the edit")
		equal(described.GetConversation().GetModel(), model, "conversation.model")
		equal(described.GetConversation().GetInstructions(), "Be brief.", "conversation.instructions")
		inactive := 0
		for _, m := range described.GetConversation().GetMessages() {
			if m.GetInactive() {
				inactive++
			}
		}
		equal(inactive, 3, "inactive alternatives (the first reply, then the edited message and its reply)")
		defaults, err := c.GetDefaultInstructions(ctx, &pb.GetDefaultInstructionsRequest{})
		must(err, "GetDefaultInstructions")
		_, err = c.SetDefaultInstructions(ctx, &pb.DefaultInstructions{Instructions: defaults.GetInstructions()})
		must(err, "SetDefaultInstructions")
		_, err = c.DeleteConversation(ctx, &pb.DeleteConversationRequest{ConversationId: id})
		must(err, "DeleteConversation of the controls' conversation")
	})

	s.check("EndSession", func(ctx context.Context) {
		ended, err := c.EndSession(ctx, &pb.EndSessionRequest{SessionMetadata: s.session})
		must(err, "EndSession")
		equal(ended.GetConversationId(), s.id, "the ended session's conversation_id")
		message := "after the session ended, from " + s.label
		fresh, err := c.ContinueConversation(ctx, &pb.ContinueConversationRequest{
			Message: message, SessionMetadata: s.session,
		})
		must(err, "ContinueConversation after EndSession")
		equal(fresh.GetNewConversation(), true, "new_conversation after EndSession")
		if !conversationID.MatchString(fresh.GetConversationId()) || fresh.GetConversationId() == s.id {
			fail("conversation_id %q after EndSession: want a new id, not %q", fresh.GetConversationId(), s.id)
		}
		nonEmpty(fresh.GetTitle(), "title of the conversation the turn started")
		s.reply(fresh.GetReply(), message, "ContinueConversation")
		again, err := c.EndSession(ctx, &pb.EndSessionRequest{SessionMetadata: s.session})
		must(err, "EndSession 2")
		equal(again.GetConversationId(), fresh.GetConversationId(), "the second session's conversation_id")
		idle, err := c.EndSession(ctx, &pb.EndSessionRequest{SessionMetadata: s.session})
		must(err, "EndSession of a session with none active")
		equal(idle.GetConversationId(), "", "conversation_id when no session was active")
	})

	s.check("not_found error", func(ctx context.Context) {
		_, err := c.DescribeConversation(ctx, &pb.DescribeConversationRequest{ConversationId: unknownID})
		expectError(err, "DescribeConversation of an unknown id", "not_found", 404, nil)
		_, err = c.ContinueConversation(ctx, &pb.ContinueConversationRequest{ConversationId: unknownID, Message: "hi"})
		expectError(err, "ContinueConversation of an unknown id", "not_found", 404, nil)
		_, err = c.UpdateConversation(ctx, &pb.UpdateConversationRequest{ConversationId: unknownID, Title: "t"})
		expectError(err, "UpdateConversation of an unknown id", "not_found", 404, nil)
		_, err = c.DeleteConversation(ctx, &pb.DeleteConversationRequest{ConversationId: unknownID})
		expectError(err, "DeleteConversation of an unknown id", "not_found", 404, nil)
	})

	s.check("invalid_argument errors", func(ctx context.Context) {
		_, err := c.StartConversation(ctx, &pb.StartConversationRequest{Message: "   "})
		expectError(err, "StartConversation blank", "invalid_argument", 400, map[string]string{"argument": "message"})
		_, err = c.ContinueConversation(ctx, &pb.ContinueConversationRequest{ConversationId: "not-an-id", Message: "hi"})
		expectError(err, "ContinueConversation bad id", "invalid_argument", 400, map[string]string{"argument": "conversation_id"})
		_, err = c.ListConversations(ctx, &pb.ListConversationsRequest{PageSize: -1})
		expectError(err, "ListConversations page_size -1", "invalid_argument", 400, map[string]string{"argument": "page_size"})
		_, err = c.DescribeConversation(ctx, &pb.DescribeConversationRequest{ConversationId: s.id, PageToken: "not-a-token"})
		expectError(err, "DescribeConversation bad page_token", "invalid_argument", 400, map[string]string{"argument": "page_token"})
		_, err = c.EndSession(ctx, &pb.EndSessionRequest{SessionMetadata: &pb.SessionMetadata{Platform: "api"}})
		expectError(err, "EndSession incomplete session", "invalid_argument", 400, map[string]string{"argument": "session_metadata"})
		_, err = c.UpdateConversation(ctx, &pb.UpdateConversationRequest{ConversationId: s.id})
		expectError(err, "UpdateConversation with nothing to change", "invalid_argument", 400, map[string]string{"argument": "title"})
		_, err = c.DeleteConversation(ctx, &pb.DeleteConversationRequest{ConversationId: "not-an-id"})
		expectError(err, "DeleteConversation bad id", "invalid_argument", 400, map[string]string{"argument": "conversation_id"})
	})

	s.check("DeleteConversation", func(ctx context.Context) {
		deleted, err := c.DeleteConversation(ctx, &pb.DeleteConversationRequest{ConversationId: s.id})
		must(err, "DeleteConversation")
		equal(deleted.GetDeleted(), true, "deleted")
		_, err = c.DescribeConversation(ctx, &pb.DescribeConversationRequest{ConversationId: s.id})
		expectError(err, "DescribeConversation of the deleted conversation", "not_found", 404, nil)
		again, err := c.DeleteConversation(ctx, &pb.DeleteConversationRequest{ConversationId: s.id})
		must(err, "DeleteConversation again")
		equal(again.GetDeleted(), false, "deleted, the second time")
	})

	s.check("bad_route error", func(ctx context.Context) {
		err := c.Call(ctx, "NoSuchMethod", &pb.EndSessionRequest{}, &pb.EndSessionResponse{})
		route := "POST " + prefix + servicePath + "NoSuchMethod"
		expectError(err, "an unknown method", "bad_route", 404, map[string]string{"twirp_invalid_route": route})
	})

	result := Result{
		Encoding:    client.encoding.Name(),
		ContentType: string(client.encoding),
		Passed:      true,
		Checks:      s.checks,
		Calls:       client.Calls,
	}
	for _, check := range s.checks {
		result.Passed = result.Passed && check.Passed
	}
	return result
}
