//! A real terminal for end-to-end tests: a tmux server of our own (its own socket, so tests never
//! touch a user's sessions), driven by keys and read back with capture-pane.

use std::process::{Command, Output};
use std::time::Duration;

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `script` with `sh -c` in a `width`×`height` terminal on the socket `socket`.
    pub fn start(socket: &str, width: u16, height: u16, script: &str) -> Self {
        let t = Self {
            socket: socket.to_string(),
        };
        let (w, h) = (width.to_string(), height.to_string());
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-x",
            &w,
            "-y",
            &h,
            "-s",
            "t",
            "sh",
            "-c",
            script,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env("TERM", "xterm-256color")
            .env_remove("TMUX")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("tmux runs")
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Polls the screen until `pred` holds. Bounded by a generous number of polls so a broken UI
    /// fails with the screen it was stuck on instead of hanging (the terminal cannot notify us).
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let mut screen = String::new();
        for _ in 0..3000 {
            screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("never saw {what}; last screen:\n{screen}");
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
