// Keeps a generation job's progress bar current without reloading the page (the job's admin page, the
// campaign's page, the review gallery), and says when a job that was running when the page came is done.
(function () {
  const FINAL = new Set(["done", "failed"]);

  function announce(job) {
    const note = document.querySelector(`[data-job-done="${job.id}"]`);
    if (!note) return;
    const made = `${job.product_sets_done} of ${job.product_sets_total} product set(s) made`;
    const failed = job.product_sets_failed ? `, ${job.product_sets_failed} failed` : "";
    note.textContent = `Generation job ${job.id} is ${job.state}: ${made}${failed}. Reload the page to see its creatives.`;
    note.className = `job-done ${job.state}`;
    note.hidden = false;
    // A finished job moves its campaign from generating to review (jobs._job_mark): the page says so too
    // (the status line above the buttons, and the form's read-only status field).
    document.querySelectorAll(".campaign-status strong, .field-status .readonly").forEach((shown) => {
      if (shown.textContent.trim() === "Generating") shown.textContent = "Review";
    });
    document.querySelectorAll('.campaign-buttons button[formaction$="/generate/"]').forEach((b) => {
      b.disabled = false;
      b.removeAttribute("title");
    });
  }

  function poll(bar, watchedRunning) {
    const label = bar.nextElementSibling;
    fetch(`/api/v1/jobs/${bar.dataset.job}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((job) => {
        bar.value = job.progress;
        label.textContent = `${Math.round(job.progress * 100)}% · ${job.product_sets_done} done, ` +
          `${job.product_sets_failed} failed of ${job.product_sets_total}` +
          (job.candidates_failed ? ` · ${job.candidates_failed} candidate(s) failed` : "") + ` · ${job.state}`;
        if (!FINAL.has(job.state)) {
          setTimeout(() => poll(bar, true), 1000);
        } else if (watchedRunning) {
          announce(job);
        }
      })
      .catch(() => setTimeout(() => poll(bar, watchedRunning), 3000));
  }

  function start() {
    document.querySelectorAll("progress[data-job]").forEach((bar) => poll(bar, bar.dataset.jobState === "running"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
