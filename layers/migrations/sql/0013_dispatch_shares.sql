-- 协办 shares: a co-handling department records its part (done_at, by whom, its note);
-- the timeline gains the actions cohandle_done and photo (an uploaded photo is a step too).
ALTER TABLE event_cohandlers
    ADD COLUMN done_at   timestamptz,
    ADD COLUMN done_by   text,
    ADD COLUMN done_note text;

ALTER TABLE event_actions DROP CONSTRAINT event_actions_action_check;
ALTER TABLE event_actions ADD CONSTRAINT event_actions_action_check CHECK (action IN
    ('receive','auto_dispatch','queue_manual','dispatch','accept','return','resolve','verify',
     'reopen','close','escalate','cohandle','cohandle_done','callback','overdue','photo'));
