customElements.define("keyholder-panel", class extends HTMLElement {});
