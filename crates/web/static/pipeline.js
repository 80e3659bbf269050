// Drag-and-drop on the opportunities board: dropping a card on a column sets the card's stage
// and submits its form, as the move button does. A lost column needs a reason: the card's
// reason list is focused instead of submitting when none is chosen.
document.addEventListener('DOMContentLoaded', function () {
  var dragged = null;
  document.querySelectorAll('#board .card').forEach(function (card) {
    card.addEventListener('dragstart', function (e) {
      dragged = card;
      e.dataTransfer.setData('text/plain', card.dataset.id);
    });
  });
  document.querySelectorAll('#board .column').forEach(function (col) {
    col.addEventListener('dragover', function (e) { e.preventDefault(); col.classList.add('drop'); });
    col.addEventListener('dragleave', function () { col.classList.remove('drop'); });
    col.addEventListener('drop', function (e) {
      e.preventDefault();
      col.classList.remove('drop');
      if (!dragged) { return; }
      var form = dragged.querySelector('form.move');
      form.querySelector('select[name=stage_id]').value = col.dataset.stage;
      var reason = form.querySelector('select[name=lost_reason_id]');
      if (col.dataset.lost === '1' && !reason.value) {
        col.appendChild(dragged);
        reason.focus();
        return;
      }
      form.submit();
    });
  });
});
